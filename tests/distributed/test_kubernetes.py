"""deploy/kubernetes read the way the cluster would read it: an indexed Job with one GPU per pod, every pod one
`fusion-search run` on one study through the storage proxy, the proxy reachable through its Service, the database
URL only in a Secret, and the shared volumes. No cluster needed: PyYAML, and `kubectl kustomize` where installed."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from fusion_search.cli import build_parser

pytestmark = pytest.mark.distributed

REPO = Path(__file__).resolve().parents[2]
KUBE = REPO / "deploy" / "kubernetes"
WORKLOADS = ("Job", "Deployment", "StatefulSet", "Pod")
GPU = "nvidia.com/gpu"
CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:([^\s/@'\"]*)@", re.IGNORECASE)


def manifests() -> dict[str, list[dict]]:
    """Each YAML file under deploy/kubernetes, as its documents (empty ones dropped)."""
    return {path.name: [d for d in yaml.safe_load_all(path.read_text()) if d]
            for path in sorted(KUBE.glob("*.yaml"))}


def objects() -> list[dict]:
    return [doc for docs in manifests().values() for doc in docs if doc["kind"] != "Kustomization"]


def one(kind: str, name: str) -> dict:
    found = [o for o in objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def pod_spec(workload: dict) -> dict:
    return workload["spec"] if workload["kind"] == "Pod" else workload["spec"]["template"]["spec"]


def pod_labels(workload: dict) -> dict:
    metadata = workload["metadata"] if workload["kind"] == "Pod" else workload["spec"]["template"]["metadata"]
    return metadata.get("labels", {})


def all_containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def container(spec: dict, name: str) -> dict:
    (found,) = [c for c in spec["containers"] if c["name"] == name]
    return found


def env(c: dict) -> dict[str, dict]:
    return {e["name"]: e for e in c.get("env", [])}


def selects(selector: dict, labels: dict) -> bool:
    """A Service selector (plain labels) or a LabelSelector (matchLabels, matchExpressions) against pod labels."""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        present, value = e["key"] in labels, labels.get(e["key"])
        ok = {"In": present and value in e.get("values", []), "NotIn": not present or value not in e.get("values", []),
              "Exists": present, "DoesNotExist": not present}[e["operator"]]
        if not ok:
            return False
    return True


def container_port(c: dict, port: int | str) -> int:
    """A port by number or by the name the container gives it (as a Service's targetPort or a probe's port)."""
    if isinstance(port, int):
        assert any(p["containerPort"] == port for p in c["ports"]), f"{c['name']} does not listen on {port}"
        return port
    (number,) = [p["containerPort"] for p in c["ports"] if p.get("name") == port]
    return number


def flag(args: list[str], name: str) -> str:
    assert args.count(name) == 1, f"{name} given {args.count(name)} times in {args}"
    return args[args.index(name) + 1]


def workers() -> dict:
    return one("Job", "fusion-search-workers")


def worker_container() -> dict:
    return container(pod_spec(workers()), "worker")


def proxy() -> tuple[dict, dict, dict]:
    deployment, service = one("Deployment", "fusion-search-proxy"), one("Service", "fusion-search-proxy")
    return deployment, service, container(pod_spec(deployment), "proxy")


def test_every_file_parses_and_the_kustomization_lists_the_core_files():
    docs = manifests()
    assert {"volumes.yaml", "proxy.yaml", "workers.yaml", "kustomization.yaml"} <= set(docs)
    for name, file_docs in docs.items():
        assert file_docs, name
        for doc in file_docs:
            assert doc.get("apiVersion") and doc.get("kind"), name
            assert doc["kind"] == "Kustomization" or doc["metadata"]["name"].startswith("fusion-search"), name
    keys = [(o["kind"], o["metadata"]["name"]) for o in objects()]
    assert len(keys) == len(set(keys)), "a kind/name pair defined twice"
    (kustomization,) = docs["kustomization.yaml"]
    assert all((KUBE / resource).is_file() for resource in kustomization["resources"])
    assert {"volumes.yaml", "proxy.yaml", "workers.yaml"} <= set(kustomization["resources"])


def test_workers_are_an_indexed_job_with_exactly_one_gpu_per_pod():
    job = workers()
    spec, template = job["spec"], pod_spec(job)
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] > 1  # one pod per GPU, all at once
    # podFailurePolicy and backoffLimitPerIndex both need restartPolicy Never: a failed pod is replaced, not restarted
    assert template["restartPolicy"] == "Never" and spec["backoffLimitPerIndex"] >= 1
    rules = spec["podFailurePolicy"]["rules"]
    assert {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]} in rules
    (usage,) = [r for r in rules if r["action"] == "FailJob"]
    assert usage["onExitCodes"] == {"containerName": "worker", "operator": "In", "values": [2]}

    gpus = []
    for c in all_containers(template):
        limits, requests = c["resources"].get("limits", {}), c["resources"].get("requests", {})
        if GPU in requests:
            assert str(requests[GPU]) == str(limits.get(GPU)), "a GPU request must equal its limit"
        gpus.append(int(limits.get(GPU, 0)))
        names = set(env(c))
        assert not names & {"CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"}, "the device plugin picks the GPU"
    assert int(worker_container()["resources"]["limits"][GPU]) == 1
    assert sum(int(c["resources"].get("limits", {}).get(GPU, 0)) for c in template["containers"]) == 1
    assert max(gpus) == 1
    assert any(t["key"] == GPU and t["operator"] == "Exists" for t in template.get("tolerations", []))
    assert template["terminationGracePeriodSeconds"] >= 60  # SIGTERM: the running trial is failed and re-queued


def test_every_pod_runs_the_same_study_with_the_real_cli():
    job, worker = workers(), worker_container()
    assert "command" not in worker, "keep the image's ENTRYPOINT (fusion-search)"
    assert 'ENTRYPOINT ["fusion-search"]' in (REPO / "Dockerfile").read_text()
    args = worker["args"]
    assert all(isinstance(a, str) for a in args) and not any("$(" in a for a in args), \
        "one command for every pod: nothing taken from the pod's index"
    parsed = build_parser().parse_args(args)
    assert parsed.command == "run" and parsed.study == flag(args, "--study")
    assert parsed.trials == int(flag(args, "--trials")) >= job["spec"]["completions"]
    assert not parsed.existing, "without --existing the first pod creates the study and the others join it"
    assert parsed.storage is None and parsed.quiet  # the storage comes from FUSION_SEARCH_STORAGE
    assert worker["env"] and env(worker)["KERAS_BACKEND"]["value"] == "tensorflow"


def test_workers_reach_the_proxy_service_by_name_and_port_without_a_password():
    _, service, _ = proxy()
    (port,) = service["spec"]["ports"]
    template = pod_spec(workers())
    urls = [env(c)["FUSION_SEARCH_STORAGE"] for c in all_containers(template) if "FUSION_SEARCH_STORAGE" in env(c)]
    assert "FUSION_SEARCH_STORAGE" in env(worker_container()) and urls
    for entry in urls:
        assert "valueFrom" not in entry, "workers need no Secret: the proxy holds the database URL"
        url = urlsplit(entry["value"])
        assert url.scheme == "grpc" and not url.username and not url.password
        assert url.hostname.split(".")[0] == service["metadata"]["name"] and url.port == port["port"]


def test_the_proxy_service_selects_the_proxy_pods_and_targets_the_port_it_listens_on():
    deployment, service, c = proxy()
    labels = pod_labels(deployment)
    assert deployment["spec"]["replicas"] == 1
    assert selects(deployment["spec"]["selector"], labels)
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert selects(service["spec"]["selector"], labels)
    others = [o for o in objects() if o["kind"] in WORKLOADS and o != deployment
              and selects(service["spec"]["selector"], pod_labels(o))]
    assert not others, f"the proxy Service would also send traffic to {[o['metadata']['name'] for o in others]}"

    (port,) = service["spec"]["ports"]
    listens = container_port(c, port.get("targetPort", port["port"]))
    args = c["args"]
    assert "command" not in c and args[0] == "storage-proxy"
    assert int(flag(args, "--port")) == listens and flag(args, "--host") == "0.0.0.0"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container_port(c, c[probe]["tcpSocket"]["port"]) == listens
    assert "--storage" not in args, "the database URL holds a password: FUSION_SEARCH_STORAGE from the Secret"
    parser = build_parser()
    (commands,) = [a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if "storage-proxy" in commands:  # checked by the real parser once the CLI has the subcommand
        parsed = parser.parse_args(args)
        assert parsed.port == listens and parsed.storage is None


def test_database_urls_and_passwords_come_only_from_a_secret():
    assert not [o for o in objects() if o["kind"] == "Secret"], "create the Secret with kubectl, never commit it"
    refs = []
    for o in objects():
        if o["kind"] not in WORKLOADS:
            continue
        for c in all_containers(pod_spec(o)):
            for name, entry in env(c).items():
                value = str(entry.get("value", ""))
                assert not urlsplit(value).scheme.lower().startswith("postgres"), f"{name}: a database URL in sight"
                if "PASSWORD" in name or (name == "FUSION_SEARCH_STORAGE" and "value" not in entry):
                    refs.append((name, entry["valueFrom"]["secretKeyRef"]))
    assert ("FUSION_SEARCH_STORAGE", {"name": "fusion-search-db", "key": "url"}) in refs
    _, _, c = proxy()
    assert env(c)["FUSION_SEARCH_STORAGE"]["valueFrom"]["secretKeyRef"] == {"name": "fusion-search-db", "key": "url"}
    # comments included: a URL with credentials anywhere in a manifest may only carry the placeholder
    for path in KUBE.glob("*.yaml"):
        assert {secret for secret in CREDENTIALS.findall(path.read_text())} <= {"PASSWORD"}, path.name


def test_the_cache_is_one_read_write_many_claim_and_the_data_is_mounted_read_only():
    template, worker = pod_spec(workers()), worker_container()
    volumes = {v["name"]: v for v in template["volumes"]}
    mounts = {m["name"]: m for m in worker["volumeMounts"]}
    claims = {o["metadata"]["name"]: o for o in objects() if o["kind"] == "PersistentVolumeClaim"}
    for volume in volumes.values():  # every claim a worker mounts is defined here
        assert volume["persistentVolumeClaim"]["claimName"] in claims

    (cache,) = [name for name, m in mounts.items() if m["mountPath"] == env(worker)["FUSION_SEARCH_CACHE"]["value"]]
    assert not mounts[cache].get("readOnly")
    assert claims[volumes[cache]["persistentVolumeClaim"]["claimName"]]["spec"]["accessModes"] == ["ReadWriteMany"]

    data_path = flag(worker["args"], "--data")
    (data,) = [name for name, m in mounts.items() if data_path.startswith(m["mountPath"].rstrip("/") + "/")]
    assert mounts[data]["readOnly"] is True and volumes[data]["persistentVolumeClaim"]["readOnly"] is True
    assert set(claims[volumes[data]["persistentVolumeClaim"]["claimName"]]["spec"]["accessModes"]) \
        & {"ReadWriteMany", "ReadOnlyMany"}, "every worker node mounts the data"


def test_network_policies_let_the_workers_reach_the_proxy_and_the_proxy_reach_the_database():
    deployment, _, c = proxy()
    policy = one("NetworkPolicy", "fusion-search-proxy")
    assert selects(policy["spec"]["podSelector"], pod_labels(deployment))
    (rule,) = policy["spec"]["ingress"]
    assert any(selects(peer["podSelector"], pod_labels(workers())) for peer in rule["from"])
    assert [p["port"] for p in rule["ports"]] == [container_port(c, c["ports"][0]["name"])]

    database, db_policy = one("StatefulSet", "fusion-search-postgres"), one("NetworkPolicy", "fusion-search-postgres")
    postgres = container(pod_spec(database), "postgres")
    assert env(postgres)["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "fusion-search-db"
    assert selects(db_policy["spec"]["podSelector"], pod_labels(database))
    (rule,) = db_policy["spec"]["ingress"]
    dashboard = one("Deployment", "fusion-search-dashboard")
    for client in (deployment, dashboard):
        assert any(selects(peer["podSelector"], pod_labels(client)) for peer in rule["from"])
    assert not any(selects(peer["podSelector"], pod_labels(workers())) for peer in rule["from"])
    service = one("Service", "fusion-search-postgres")
    assert selects(service["spec"]["selector"], pod_labels(database))
    assert container_port(postgres, service["spec"]["ports"][0]["targetPort"]) == 5432


def fusion_search_images(rendered: list[dict]) -> dict[str, str]:
    """component/container -> image, for every container of the fusion-search components."""
    return {f"{o['metadata']['name']}/{c['name']}": c["image"] for o in rendered if o["kind"] in WORKLOADS
            and o["metadata"]["name"] in ("fusion-search-workers", "fusion-search-proxy", "fusion-search-dashboard")
            for c in all_containers(pod_spec(o))}


def test_workers_proxy_and_dashboard_run_one_fusion_search_image():
    images = fusion_search_images(objects())
    assert len(images) == 4 and len(set(images.values())) == 1, images
    assert next(iter(images.values())).split(":")[0] == "fusion-search"


def test_kustomize_puts_one_registry_image_on_every_fusion_search_container(tmp_path):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (only `kubectl kustomize` is used: no cluster)")
    shutil.copytree(KUBE, tmp_path / "base")
    (tmp_path / "overlay").mkdir()
    (tmp_path / "overlay" / "kustomization.yaml").write_text(yaml.safe_dump({
        "resources": ["../base"],
        "images": [{"name": "fusion-search", "newName": "registry.example.com/ml/fusion-search", "newTag": "0.1.0"}]}))
    result = subprocess.run([kubectl, "kustomize", str(tmp_path / "overlay")], check=False, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "KUBECONFIG": "/dev/null"})
    assert result.returncode == 0, result.stderr
    rendered = [d for d in yaml.safe_load_all(result.stdout) if d]
    images = fusion_search_images(rendered)
    assert set(images.values()) == {"registry.example.com/ml/fusion-search:0.1.0"}, images
    assert {o["kind"] for o in rendered} >= {"Job", "Deployment", "Service", "PersistentVolumeClaim"}
