# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Ownership before change: whether an existing resource of a cluster's name is that cluster's.

Every resource this collection creates carries its ownership tag, CLUSTER_TAG (``nixl-efa:cluster``),
set to the cluster's name. This is the key's one home: modules read it from here, and roles and
playbooks from the cluster_tag filter (plugin_utils/cluster_names), which reads it from here. Before
a module or a role changes or deletes a resource it found by name, it asks ``ownership_problem``: None
when the tag names the cluster, otherwise a sentence naming the resource and the tag found.

Some resources are used without being created here: a capacity block bought in the console or by the old scripts.
``adoption_plan`` decides whether a cluster may adopt one (no cluster tag: add it and the ADOPTED_TAG marker), owns it
already, or must leave it (another cluster's), and which tags teardown removes to give an adopted one back.

Pure logic, no AWS calls: efa_launch_template, capacity_block_adoption and the ownership_problems and adoption_plan
filters feed it what AWS returned.
"""

from __future__ import annotations

# The ownership tag's key: the only place it is written.
CLUSTER_TAG = "nixl-efa:cluster"


def tags_as_dict(tags):
    """Tags as AWS gives them (a list of Key/Value pairs, either case) or as Ansible does (a dict)."""
    if not tags:
        return {}
    if isinstance(tags, dict):
        return {str(k): "" if v is None else str(v) for k, v in tags.items()}
    found = {}
    for tag in tags:
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            value = tag.get("Value", tag.get("value"))
            found[str(key)] = "" if value is None else str(value)
    return found


def describe_resource(kind, name=None, resource_id=None, where=None):
    """'Security group demo-efa (sg-0abc, in vpc-0def)': the kind, then the name, then what tells it apart."""
    label = " ".join(str(part) for part in (kind, name or resource_id) if part)
    details = [str(part) for part in (resource_id if name and resource_id != name else None, where) if part]
    return f"{label} ({', '.join(details)})" if details else label


def ownership_problem(kind, tags, tag_key, cluster, name=None, resource_id=None, where=None):
    """None when the resource's `tag_key` tag is `cluster`; else a sentence naming it and the tag found."""
    if not tag_key or not cluster:
        raise ValueError("ownership_problem needs the ownership tag key and the cluster name")
    found = tags_as_dict(tags).get(tag_key)
    if found == cluster:
        return None
    what = describe_resource(kind, name, resource_id, where)
    if found is None:
        return f"{what} exists and has no {tag_key} tag: it is not cluster {cluster}'s."
    return f"{what} exists and is tagged {tag_key}={found}: it belongs to another cluster, not {cluster}."


def ownership_advice(tag_key, cluster, setting="cluster_name"):
    """What to do about a refused resource, the same words in every role and module."""
    return (
        f"Nothing was changed. Choose another {setting}, or delete that resource yourself, or, if it is"
        f" this cluster's, tag it {tag_key}={cluster} (teardown then deletes it with the cluster)."
    )


def ownership_problems(resources, tag_key, cluster):
    """One sentence per resource (dicts with kind, tags, and name, id or where) that is not `cluster`'s."""
    problems = []
    for resource in resources or []:
        problem = ownership_problem(
            resource.get("kind", "Resource"),
            resource.get("tags"),
            tag_key,
            cluster,
            name=resource.get("name"),
            resource_id=resource.get("id"),
            where=resource.get("where"),
        )
        if problem:
            problems.append(problem)
    return problems


# Adoption: using a resource the collection did not create, such as a capacity block bought in the console or
# by the old scripts. An untagged one is adopted by adding two tags, the cluster tag and this marker, which
# says the collection adopted it rather than created it; teardown removes exactly those two again, and
# nothing else of the resource. One tagged for another cluster is refused.
ADOPTED_TAG = "nixl-efa:adopted"
ADOPTED_VALUE = "true"

ADOPTION_DECISIONS = ("own", "adopt", "refuse")


def adoption_tags(cluster):
    """The tags an adoption adds: the cluster tag and the adopted marker."""
    if not cluster:
        raise ValueError("adoption_tags needs the cluster name")
    return {CLUSTER_TAG: cluster, ADOPTED_TAG: ADOPTED_VALUE}


def adoption_plan(tags, cluster, kind="Resource", name=None, resource_id=None, where=None):
    """Whether `cluster` may use a resource it may not have created, and what that takes.

    Answers a dict:

    - ``decision``: ``own`` (the cluster tag names `cluster`: nothing to add), ``adopt`` (no cluster tag:
      the tags in ``add`` make it the cluster's) or ``refuse`` (the tag names another cluster, or is empty);
    - ``add``: the tags to add (only those missing or different; empty unless adopting);
    - ``adopted``: whether the resource is the cluster's by adoption (its tag names `cluster` and the
      marker is there), as against created (bought) by the collection or tagged by hand;
    - ``release``: the tags teardown removes to give the resource back: the adoption's two tags when
      ``adopted``, else none (a resource the collection created keeps its tags);
    - ``problem``: the refusal, naming the resource and the tag found, and what to do ("" unless refused).
    """
    current = tags_as_dict(tags)
    wanted = adoption_tags(cluster)
    found = current.get(CLUSTER_TAG)
    adopted = found == cluster and current.get(ADOPTED_TAG) == ADOPTED_VALUE
    plan = {"decision": "own", "add": {}, "adopted": adopted, "release": {}, "problem": ""}
    if found == cluster:
        if adopted:
            plan["release"] = wanted
        return plan
    if found is None:
        plan.update(decision="adopt", add={k: v for k, v in wanted.items() if current.get(k) != v})
        return plan
    problem = ownership_problem(kind, current, CLUSTER_TAG, cluster, name=name, resource_id=resource_id, where=where)
    plan.update(decision="refuse", problem=f"{problem} {adoption_advice(cluster)}")
    return plan


def adoption_advice(cluster):
    """What to do about a resource of another cluster that `cluster` wanted to adopt: it is never taken over."""
    return (
        f"It is not adopted: use another one for cluster {cluster}, or, once the other cluster no longer uses it,"
        f" remove its {CLUSTER_TAG} tag (that cluster's teardown does so for what it adopted)."
    )
