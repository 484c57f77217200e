# -*- coding: utf-8 -*-
"""Lab stand-ins for EFS APIs that moto 5.2.5 lacks or answers differently, kept under lab/ and never shipped.

They STAND IN for AWS's EFS API in the lab only; moto_lab.py installs them on moto's EFS
response class before the server starts. moto keeps the file systems, mount targets and tags;
these functions only answer the calls it has no answer for, with the shapes of AWS's API.

- DescribeTags, CreateTags, DeleteTags: the original EFS tagging calls
  (GET /2015-02-01/tags/{FileSystemId}/, POST /2015-02-01/create-tags/{FileSystemId},
  POST /2015-02-01/delete-tags/{FileSystemId}). community.aws.efs and efs_info read and write
  tags through them; moto has only the newer TagResource/UntagResource/ListTagsForResource.
  They share moto's tag store, so both families see the same tags. An unknown file system is
  FileSystemNotFound (404), as on AWS.
- DeleteFileSystemPolicy (DELETE /2015-02-01/file-systems/{FileSystemId}/policy): moto has
  Put and Describe only. DescribeFileSystemPolicy of an unknown file system answers
  FileSystemNotFound instead of moto's internal error.
- DescribeFileSystems without MaxItems returns up to 100 file systems, AWS's default; moto
  pages by 10, and community.aws.efs cannot follow a second page (it reads "Nextmarker").
"""

import json

from moto.efs import urls as efs_urls
from moto.efs.exceptions import FileSystemNotFound
from moto.efs.exceptions import PolicyNotFound
from moto.efs.responses import EFSResponse

# AWS's default page size of DescribeFileSystems.
DEFAULT_MAX_ITEMS = 100

_JSON = {"Content-Type": "application/json"}
_ORIGINALS = {}


def _file_system(response, file_system_id):
    backend = response.efs_backend
    if file_system_id not in backend.file_systems_by_id:
        raise FileSystemNotFound(file_system_id)
    return backend.file_systems_by_id[file_system_id]


def describe_tags(self):
    """DescribeTags: the file system's tags (one page, as the lab never has more than 50)."""
    file_system = _file_system(self, self._get_param("FileSystemId"))
    tags = self.efs_backend.list_tags_for_resource(file_system.file_system_id)
    return json.dumps({"Tags": tags}), _JSON


def create_tags(self):
    """CreateTags: add or overwrite tags; 204 with no body, as AWS answers."""
    file_system = _file_system(self, self._get_param("FileSystemId"))
    self.efs_backend.tagging_service.tag_resource(file_system.file_system_id, self._get_param("Tags") or [])
    return "", {"status": 204}


def delete_tags(self):
    """DeleteTags: remove tags by key; 204 with no body."""
    file_system = _file_system(self, self._get_param("FileSystemId"))
    keys = self._get_param("TagKeys") or []
    self.efs_backend.tagging_service.untag_resource_using_names(file_system.file_system_id, keys)
    return "", {"status": 204}


def delete_file_system_policy(self):
    """DeleteFileSystemPolicy: back to the default policy (none set); 200 with no body."""
    file_system = _file_system(self, self._get_param("FileSystemId"))
    file_system.file_system_policy = None
    return "{}", _JSON


def describe_file_system_policy(self):
    """DescribeFileSystemPolicy: FileSystemNotFound for an unknown file system, else moto's answer."""
    file_system = _file_system(self, self._get_param("FileSystemId"))
    if not file_system.file_system_policy:
        raise PolicyNotFound("No file system policy is set.")
    return _ORIGINALS["describe_file_system_policy"](self)


def describe_file_systems(self):
    """DescribeFileSystems with AWS's default page size when the caller gives none (moto's own answer otherwise)."""
    next_marker, file_systems = self.efs_backend.describe_file_systems(
        marker=self._get_param("Marker"),
        max_items=self._get_int_param("MaxItems", DEFAULT_MAX_ITEMS),
        creation_token=self._get_param("CreationToken"),
        file_system_id=self._get_param("FileSystemId"),
    )
    answer = {"FileSystems": [fs.info_json() for fs in file_systems]}
    if self._get_param("Marker"):
        answer["Marker"] = self._get_param("Marker")
    if next_marker:
        answer["NextMarker"] = next_marker
    return json.dumps(answer), _JSON


# Paths of the tagging calls, which moto's EFS server routes do not cover.
PATHS = (
    "/2015-02-01/tags/<file_system_id>/",
    "/2015-02-01/create-tags/<file_system_id>",
    "/2015-02-01/delete-tags/<file_system_id>",
)

STAND_INS = (describe_tags, create_tags, delete_tags, delete_file_system_policy, describe_file_systems)
WRAPPED = (describe_file_system_policy,)


def install(response_class=EFSResponse):
    """Add the stand-ins to moto's EFS response class and their paths to its server routes (idempotent)."""
    for path in PATHS:
        efs_urls.url_paths.setdefault(path, efs_urls.response.dispatch)
    for func in STAND_INS:
        setattr(response_class, func.__name__, func)
    for func in WRAPPED:
        _ORIGINALS.setdefault(func.__name__, getattr(response_class, func.__name__))
        setattr(response_class, func.__name__, func)
