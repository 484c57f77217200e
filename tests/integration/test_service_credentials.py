# -*- coding: utf-8 -*-
"""The services' credentials against the lab's local AWS: playbooks/tasks/service_credentials.yml,
the localhost step configure.yml and validate.yml run before their node plays.

The vLLM API key and the MLflow admin password are generated once into Secrets Manager (the vllm
and mlflow roles' `secret` entry points, through the collection's secret role), read back into
vllm_api_key and mlflow_admin_password, never printed; a second run changes nothing and reads the
same values; a value given by the user is used as it is and nothing is stored; absent schedules the
secret for deletion.
"""

import hashlib
import json
import pathlib
import subprocess

import boto3
import pytest

from .conftest import BIN
from .conftest import ROOT
from .conftest import PlaybookRun
from .conftest import lab_environ

REGION = "us-east-1"
PLAY = """
- name: The services' credentials on the lab
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/nixl_efa.cluster.aws:
      region: "{{ cluster_region }}"
  tasks:
    - name: Generate once and read back
      ansible.builtin.import_tasks: %(tasks)s
      when: secrets_state == 'present'
    - name: Schedule the vLLM key for deletion
      ansible.builtin.include_role:
        name: nixl_efa.cluster.vllm
        tasks_from: secret
      vars:
        vllm_api_key_secret_state: absent
        # As teardown.yml gives it: only a secret carrying this cluster's tag is deleted.
        vllm_api_key_secret_tags: "{{ owner_tags | default({}) }}"
      when: secrets_state == 'absent'
    - name: Digests of what was read back (the values themselves are never written)
      ansible.builtin.copy:
        content: >-
          {{ {'vllm': vllm_api_key | default('') | hash('sha256'),
              'mlflow': mlflow_admin_password | default('') | hash('sha256')} | to_json }}
        dest: "%(report)s"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def secretsmanager(lab_aws):
    return boto3.client(
        "secretsmanager",
        endpoint_url=lab_aws,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def sha(value):
    return hashlib.sha256(value.encode()).hexdigest()


def run(lab_aws, tmp_path, cluster, state="present", expect_rc=0, **extra):
    report = tmp_path / "digests.json"
    play = tmp_path / "credentials.yml"
    play.write_text(PLAY % {"tasks": ROOT / "playbooks" / "tasks" / "service_credentials.yml", "report": report})
    extra_vars = dict(cluster_name=cluster, cluster_region=REGION, secrets_state=state, **extra)
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", str(play), "-e", json.dumps(extra_vars)],
        cwd=ROOT, env=lab_environ(lab_aws), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    outcome = PlaybookRun(result)
    assert outcome.rc == expect_rc, outcome.stdout[-4000:]
    return outcome, json.loads(pathlib.Path(report).read_text()) if expect_rc == 0 else None


def test_generated_once_read_back_never_printed(lab_aws, tmp_path, secretsmanager):
    cluster = "creds-once"
    first, digests = run(lab_aws, tmp_path, cluster)
    key = secretsmanager.get_secret_value(SecretId=f"{cluster}/vllm/api-key")
    password = secretsmanager.get_secret_value(SecretId=f"{cluster}/mlflow/admin-password")
    assert len(key["SecretString"]) == 40 and key["SecretString"].isalnum()
    assert len(password["SecretString"]) == 32 and password["SecretString"].isalnum()
    assert digests == {"vllm": sha(key["SecretString"]), "mlflow": sha(password["SecretString"])}
    assert first.recap["changed"] >= 2

    second, again = run(lab_aws, tmp_path, cluster)
    assert second.recap["changed"] == 0, second.changed_tasks()
    assert again == digests
    assert secretsmanager.get_secret_value(SecretId=key["ARN"])["VersionId"] == key["VersionId"]
    tags = secretsmanager.describe_secret(SecretId=key["ARN"])["Tags"]
    assert {"Key": "nixl-efa:cluster", "Value": cluster} in tags
    for outcome in (first, second):
        assert key["SecretString"] not in outcome.stdout
        assert password["SecretString"] not in outcome.stdout

    run(lab_aws, tmp_path, cluster, state="absent")
    assert "DeletedDate" in secretsmanager.describe_secret(SecretId=key["ARN"])
    assert "DeletedDate" not in secretsmanager.describe_secret(SecretId=password["ARN"])


def test_given_values_are_used_and_nothing_is_stored(lab_aws, tmp_path, secretsmanager):
    cluster = "creds-given"
    outcome, digests = run(lab_aws, tmp_path, cluster, vllm_api_key="given-key-0123456789abcdef", mlflow_auth=False)
    assert digests == {"vllm": sha("given-key-0123456789abcdef"), "mlflow": sha("")}
    names = [s["Name"] for s in secretsmanager.list_secrets()["SecretList"]]
    assert not [name for name in names if name.startswith(f"{cluster}/")]
    assert "given-key-0123456789abcdef" not in outcome.stdout


@pytest.mark.parametrize("found", ["untagged", "other-cluster"])
def test_a_secret_of_the_same_name_not_made_for_the_cluster_is_left_alone(lab_aws, tmp_path, secretsmanager, found):
    """Ownership before change: never read, tagged or deleted; the refusal names the secret and the tag found."""
    cluster = f"creds-{found}"
    tags = [] if found == "untagged" else [{"Key": "nixl-efa:cluster", "Value": "someone-else"}]
    arn = secretsmanager.create_secret(Name=f"{cluster}/vllm/api-key", SecretString="theirs-0123456789", Tags=tags)[
        "ARN"
    ]
    before = secretsmanager.describe_secret(SecretId=arn)

    outcome, _digests = run(lab_aws, tmp_path, cluster, expect_rc=2, mlflow_auth=False)
    text = " ".join(outcome.stdout.split())
    tag = "no tag nixl-efa:cluster" if found == "untagged" else "the tag nixl-efa:cluster=someone-else"
    assert f"Secret {cluster}/vllm/api-key ({arn}) exists with {tag}" in text, outcome.stdout[-3000:]
    assert f"it was not made by nixl_efa.cluster for cluster {cluster}" in text
    assert "theirs-0123456789" not in outcome.stdout

    deleting, _digests = run(lab_aws, tmp_path, cluster, state="absent", owner_tags={"nixl-efa:cluster": cluster})
    said = " ".join(deleting.stdout.replace("''", "'").split())
    assert f"Secret {cluster}/vllm/api-key has {tag}: not this cluster's, so it was not deleted" in said
    after = secretsmanager.describe_secret(SecretId=arn)
    assert "DeletedDate" not in after
    assert after.get("Tags", []) == before.get("Tags", [])
    assert secretsmanager.get_secret_value(SecretId=arn)["SecretString"] == "theirs-0123456789"
