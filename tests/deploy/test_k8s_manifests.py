"""Offline checks of the Kubernetes manifests under deploy/k8s: no cluster, no network.

Every YAML document is validated (strict: unknown fields are errors) against the Kubernetes JSON schemas bundled
in the ``kubernetes-validate`` package, then the platform's rules are asserted: resources, probes, non-root,
graceful shutdown, one HPA and one PDB per Deployment, migrations only in a Job, commands that point at real
modules, and only environment variables the code reads.
"""
from __future__ import annotations

import re
import socket
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate import utils as kv_utils

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
# the newest schema set shipped inside kubernetes-validate 1.37.0 (files in the package, read from disk)
K8S_VERSION = "1.37.0"

# what the code reads (mppi.runtime.settings, mppi.runtime.runner, gateway.main)
ALLOWED_ENV = {
    "AMQP_URI",
    "TENANTS_DATABASE_URL",
    "CATALOG_DATABASE_URL",
    "APPLICATIONS_DATABASE_URL",
    "NOTIFICATIONS_DATABASE_URL",
    "MPPI_PUBLIC_URL",
    "MPPI_VAR_DIR",
    "MPPI_TOKEN_SECRET",
    "MPPI_SIGNING_SECRET",
    "MPPI_ADMIN_EMAIL",
    "MPPI_ADMIN_PASSWORD",
    "MPPI_RATE_LIMITS",
    "MPPI_MAX_WORKERS",
    "RABBIT_MANAGEMENT_URL",
    "MPPI_LOG_LEVEL",
    "MPPI_METRICS_PORT",
    "MPPI_METRICS_HOST",
    "MPPI_GATEWAY_PORT",
    "MPPI_GATEWAY_HOST",
}
KUSTOMIZE_GROUP = "kustomize.config.k8s.io/"
MIGRATIONS_MODULE = "mppi.runtime.migrations"
RUNNER_MODULE = "mppi.runtime.runner"


def _load_documents() -> list[tuple[Path, dict]]:
    docs = []
    for path in sorted([*K8S.rglob("*.yaml"), *K8S.rglob("*.yml")]):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                docs.append((path, doc))
    return docs


DOCUMENTS = _load_documents()
KUSTOMIZATIONS = [(p, d) for p, d in DOCUMENTS if d.get("apiVersion", "").startswith(KUSTOMIZE_GROUP)]
MANIFESTS = [(p, d) for p, d in DOCUMENTS if not d.get("apiVersion", "").startswith(KUSTOMIZE_GROUP)]


def of_kind(kind: str) -> list[dict]:
    return [d for _, d in MANIFESTS if d.get("kind") == kind]


def name_of(doc: dict) -> str:
    return doc["metadata"]["name"]


def doc_id(item: tuple[Path, dict]) -> str:
    path, doc = item
    return f"{path.relative_to(K8S)}:{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def containers(workload: dict) -> list[dict]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def is_app_image(container: dict) -> bool:
    """A container of the platform's own image (mppi:<tag>), as opposed to RabbitMQ or PostgreSQL."""
    return container["image"].split("/")[-1].split(":")[0] == "mppi"


def command_line(container: dict) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def python_module(container: dict) -> str | None:
    argv = command_line(container)
    if "-m" in argv and argv.index("-m") + 1 < len(argv):
        return argv[argv.index("-m") + 1]
    return None


def app_workloads() -> list[dict]:
    return [w for w in [*of_kind("Deployment"), *of_kind("Job")] if any(is_app_image(c) for c in containers(w))]


def selector_matches(match_labels: dict, labels: dict) -> bool:
    return bool(match_labels) and all(labels.get(k) == v for k, v in match_labels.items())


DEPLOYMENTS = of_kind("Deployment")
SERVICE_DEPLOYMENTS = [d for d in DEPLOYMENTS if any(python_module(c) == RUNNER_MODULE for c in containers(d))]
GATEWAY_DEPLOYMENTS = [d for d in DEPLOYMENTS if any(python_module(c) == "gateway.main" for c in containers(d))]
SERVICE_PACKAGES = sorted(p.parent.name for p in (ROOT / "services").glob("*/service.py"))


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("schema validation tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# -- the manifests are valid Kubernetes objects --------------------------------------------------------------

def test_the_bundled_schemas_cover_the_kubernetes_version_we_validate_against():
    assert K8S_VERSION in kv_utils.all_versions()
    schema_dir = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{K8S_VERSION}-local-strict"
    assert (schema_dir / "deployment-apps-v1.json").is_file()


def test_strict_validation_rejects_an_unknown_field(no_network):
    deployment = yaml.safe_load(yaml.safe_dump(DEPLOYMENTS[0]))
    pod_spec(deployment)["containers"][0]["livenesProbe"] = {"tcpSocket": {"port": 9100}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_manifests_are_found_under_deploy_k8s():
    assert len(DEPLOYMENTS) == 5, [name_of(d) for d in DEPLOYMENTS]
    assert KUSTOMIZATIONS, "no kustomization.yaml"


@pytest.mark.parametrize("item", MANIFESTS, ids=[doc_id(i) for i in MANIFESTS])
def test_every_manifest_is_valid_against_the_kubernetes_schema_offline(item, no_network):
    _, doc = item
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{doc_id(item)} at {'.'.join(map(str, exc.path))}: {exc.message}")


def test_kustomizations_list_only_files_that_exist():
    for path, kustomization in KUSTOMIZATIONS:
        for entry in kustomization.get("resources", []):
            assert (path.parent / entry).exists(), f"{path.relative_to(K8S)} lists missing {entry}"


def test_every_manifest_file_is_applied_by_a_kustomization_or_is_a_template():
    listed = {(path.parent / entry).resolve() for path, k in KUSTOMIZATIONS for entry in k.get("resources", [])}
    for path in {p for p, _ in MANIFESTS}:
        assert path.resolve() in listed or path.name.endswith(".template.yaml"), path.relative_to(K8S)


def test_objects_applied_together_have_unique_kinds_and_names():
    for path, kustomization in KUSTOMIZATIONS:
        files = {(path.parent / entry).resolve() for entry in kustomization.get("resources", [])}
        keys = [(d["kind"], name_of(d)) for p, d in MANIFESTS if p.resolve() in files]
        assert len(keys) == len(set(keys)), f"duplicates in {path.relative_to(K8S)}"


# -- Deployments ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=name_of)
def test_every_container_requests_and_limits_cpu_and_memory(deployment):
    for container in containers(deployment):
        resources = container.get("resources", {})
        for section in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(section, {})), (container["name"], section)


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=name_of)
def test_every_container_has_a_readiness_or_liveness_probe(deployment):
    for container in pod_spec(deployment)["containers"]:
        assert "readinessProbe" in container or "livenessProbe" in container, container["name"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=name_of)
def test_every_deployment_runs_as_non_root_on_a_read_only_root_filesystem(deployment):
    spec = pod_spec(deployment)
    pod_non_root = spec.get("securityContext", {}).get("runAsNonRoot") is True
    tmp_volumes = {m["name"] for c in spec["containers"] for m in c.get("volumeMounts", [])
                   if m["mountPath"] == "/tmp"}
    for container in containers(deployment):
        ctx = container.get("securityContext", {})
        assert pod_non_root or ctx.get("runAsNonRoot") is True, container["name"]
        assert ctx.get("allowPrivilegeEscalation") is False, container["name"]
        assert ctx.get("readOnlyRootFilesystem") is True, container["name"]
    assert any(v["name"] in tmp_volumes and "emptyDir" in v for v in spec.get("volumes", [])), "no /tmp emptyDir"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=name_of)
def test_every_deployment_gives_in_flight_work_at_least_30_seconds_to_finish(deployment):
    assert pod_spec(deployment).get("terminationGracePeriodSeconds", 30) >= 30


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=name_of)
def test_every_deployment_selects_its_own_pods_and_carries_the_standard_labels(deployment):
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector_matches(deployment["spec"]["selector"]["matchLabels"], pod_labels)
    for labels in (deployment["metadata"]["labels"], pod_labels):
        assert labels.get("app.kubernetes.io/name")
        assert labels.get("app.kubernetes.io/part-of") == "mppi"
        assert labels.get("app.kubernetes.io/component")


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=name_of)
def test_every_deployment_is_scraped_by_prometheus_on_a_port_it_exposes(deployment):
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert annotations.get("prometheus.io/scrape") == "true"
    ports = {p["containerPort"] for c in containers(deployment) for p in c.get("ports", [])}
    assert int(annotations["prometheus.io/port"]) in ports


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=name_of)
def test_every_deployment_is_autoscaled_on_cpu_by_its_own_hpa(deployment):
    hpas = [h for h in of_kind("HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"]["kind"] == "Deployment"
            and h["spec"]["scaleTargetRef"]["name"] == name_of(deployment)]
    assert len(hpas) == 1, f"{name_of(deployment)}: {len(hpas)} HPAs"
    hpa = hpas[0]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert 1 <= hpa["spec"].get("minReplicas", 1) <= hpa["spec"]["maxReplicas"]
    assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"])
    assert "replicas" not in deployment["spec"], "a fixed replica count fights the HPA on every apply"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=name_of)
def test_every_deployment_is_protected_by_a_pod_disruption_budget(deployment):
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    pdbs = [p for p in of_kind("PodDisruptionBudget")
            if selector_matches(p["spec"]["selector"].get("matchLabels", {}), pod_labels)]
    assert len(pdbs) == 1, f"{name_of(deployment)}: {len(pdbs)} PDBs"


# -- what runs where -----------------------------------------------------------------------------------------

def test_migrations_run_as_a_job_that_retries_and_cleans_up():
    jobs = [j for j in of_kind("Job") if name_of(j) == "mppi-migrate"]
    assert len(jobs) == 1
    job = jobs[0]
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert pod_spec(job)["restartPolicy"] in {"Never", "OnFailure"}
    assert [python_module(c) for c in pod_spec(job)["containers"]] == [MIGRATIONS_MODULE]
    assert (ROOT / "mppi" / "runtime" / "migrations.py").is_file()


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=name_of)
def test_no_deployment_runs_migrations_at_start(deployment):
    for container in containers(deployment):
        assert not any(MIGRATIONS_MODULE in arg for arg in command_line(container)), container["name"]


@pytest.mark.parametrize("deployment", SERVICE_DEPLOYMENTS, ids=name_of)
def test_every_service_deployment_runs_a_service_class_that_exists(deployment):
    for container in pod_spec(deployment)["containers"]:
        argv = command_line(container)
        target = argv[argv.index(RUNNER_MODULE) + 1]
        match = re.fullmatch(r"services\.(\w+)\.service:(\w+)", target)
        assert match, target
        source = ROOT / "services" / match[1] / "service.py"
        assert source.is_file(), source
        assert re.search(rf"^class {match[2]}\b", source.read_text(encoding="utf-8"), re.M), target


def test_every_service_package_and_the_gateway_have_a_deployment():
    running = {command_line(c)[-1].split(".")[1] for d in SERVICE_DEPLOYMENTS for c in pod_spec(d)["containers"]}
    assert running == set(SERVICE_PACKAGES)
    assert len(GATEWAY_DEPLOYMENTS) == 1
    assert (ROOT / "gateway" / "main.py").is_file()


@pytest.mark.parametrize("workload", app_workloads(), ids=name_of)
def test_platform_containers_run_python_modules_that_exist(workload):
    for container in containers(workload):
        module = python_module(container)
        assert command_line(container)[0] == "python" and module, command_line(container)
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), module


# -- configuration -------------------------------------------------------------------------------------------

def env_names(container: dict) -> set[str]:
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            kind, ref = "ConfigMap", source["configMapRef"]["name"]
        else:
            kind, ref = "Secret", source["secretRef"]["name"]
        found = [d for d in of_kind(kind) if name_of(d) == ref]
        assert found, f"envFrom {kind} {ref} is not defined"
        names |= {key for d in found for key in [*d.get("data", {}), *d.get("stringData", {})]}
    return names


@pytest.mark.parametrize("workload", app_workloads(), ids=name_of)
def test_platform_containers_set_only_environment_variables_the_code_reads(workload):
    for container in containers(workload):
        unknown = env_names(container) - ALLOWED_ENV
        assert not unknown, f"{container['name']}: {sorted(unknown)}"


@pytest.mark.parametrize("workload", [*of_kind("Deployment"), *of_kind("Job"), *of_kind("StatefulSet")],
                         ids=name_of)
def test_secret_and_config_references_point_at_keys_that_are_defined(workload):
    for container in containers(workload):
        for env in container.get("env", []):
            for ref_kind, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                ref = env.get("valueFrom", {}).get(ref_kind)
                if ref:
                    keys = {k for d in of_kind(kind) if name_of(d) == ref["name"]
                            for k in [*d.get("data", {}), *d.get("stringData", {})]}
                    assert ref["key"] in keys, f"{env['name']}: {kind} {ref['name']} has no key {ref['key']}"


def test_secrets_are_only_templates_with_values_marked_replace():
    for path, doc in MANIFESTS:
        if doc["kind"] == "Secret":
            assert path.name.endswith(".template.yaml"), path.relative_to(K8S)
            assert "data" not in doc, "use stringData placeholders in templates"
            assert any("REPLACE" in str(v) for v in doc["stringData"].values()), name_of(doc)


def test_each_service_sees_only_its_own_database():
    for deployment in SERVICE_DEPLOYMENTS:
        names = set().union(*(env_names(c) for c in pod_spec(deployment)["containers"]))
        databases = {n for n in names if n.endswith("_DATABASE_URL")}
        service = name_of(deployment).removeprefix("mppi-")
        assert databases == {f"{service.upper()}_DATABASE_URL"}, name_of(deployment)


@pytest.mark.parametrize("deployment", SERVICE_DEPLOYMENTS, ids=name_of)
def test_services_choose_their_workers_and_serve_metrics_on_9100_to_the_cluster(deployment):
    for container in pod_spec(deployment)["containers"]:
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert int(env["MPPI_MAX_WORKERS"]) > 0
        assert env["MPPI_METRICS_PORT"] == "9100"
        assert env["MPPI_METRICS_HOST"] == "0.0.0.0"


# -- gateway exposure and network ----------------------------------------------------------------------------

def test_gateway_probes_liveness_on_healthz_and_readiness_on_readyz():
    (gateway,) = GATEWAY_DEPLOYMENTS
    (container,) = pod_spec(gateway)["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MPPI_GATEWAY_HOST"] == "0.0.0.0"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_gateway_is_reached_through_a_service_and_an_ingress():
    (gateway,) = GATEWAY_DEPLOYMENTS
    pod_labels = gateway["spec"]["template"]["metadata"]["labels"]
    port_names = {p["name"]: p["containerPort"] for c in containers(gateway) for p in c.get("ports", [])}
    services = [s for s in of_kind("Service") if selector_matches(s["spec"].get("selector", {}), pod_labels)]
    assert len(services) == 1
    (service,) = services
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in port_names or port["targetPort"] in port_names.values()
    backends = [path["backend"]["service"]["name"] for ingress in of_kind("Ingress")
                for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert backends and set(backends) == {name_of(service)}


def test_network_policies_deny_ingress_by_default_and_admit_the_ingress_controller_to_the_gateway_only():
    policies = of_kind("NetworkPolicy")
    assert any(p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"] and not p["spec"].get("ingress")
               for p in policies), "no default deny"
    (gateway,) = GATEWAY_DEPLOYMENTS
    pod_labels = gateway["spec"]["template"]["metadata"]["labels"]
    to_gateway = [p for p in policies if selector_matches(p["spec"]["podSelector"].get("matchLabels", {}), pod_labels)]
    assert to_gateway
    for policy in to_gateway:
        for rule in policy["spec"]["ingress"]:
            assert all("namespaceSelector" in peer for peer in rule["from"]), "gateway open to the namespace"
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{name_of(policy)} admits everyone"


def test_queue_length_scaling_is_documented_for_the_queue_driven_services():
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    assert "rabbitmq_queue_messages_ready" in readme
    assert "kubectl apply -k" in readme


# -- staging infra -------------------------------------------------------------------------------------------

def test_staging_infra_runs_rabbitmq_with_management_and_postgres_creating_every_service_database():
    images = {c["image"]: s for s in of_kind("StatefulSet") for c in containers(s)}
    assert "rabbitmq:3.13-management" in images and "postgres:16" in images
    for statefulset in images.values():
        assert statefulset["spec"]["volumeClaimTemplates"], name_of(statefulset)
    scripts = "".join(v for cm in of_kind("ConfigMap") if name_of(cm) == "mppi-postgres-init"
                      for v in cm["data"].values())
    for service in SERVICE_PACKAGES:
        assert f"CREATE DATABASE {service};" in scripts
