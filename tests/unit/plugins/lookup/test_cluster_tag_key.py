"""The cluster_tag_key lookup answers the one key module_utils/ownership.py writes, and takes no terms."""

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.nixl_efa.cluster.plugins.lookup.cluster_tag_key import LookupModule
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import CLUSTER_TAG


def test_answers_the_key():
    assert LookupModule().run([], variables={}) == [CLUSTER_TAG] == ["nixl-efa:cluster"]


def test_refuses_terms():
    with pytest.raises(AnsibleLookupError, match="no terms"):
        LookupModule().run(["demo"], variables={})
