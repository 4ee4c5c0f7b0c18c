"""The addons' Python dependencies are declared once; the Docker set-up installs them.

Plain pytest, no Odoo server and no Docker daemon needed: the addons' sources are
parsed with ``ast``, the manifests with ``ast.literal_eval``, docker-compose.yml with
PyYAML.

- every third-party module an addon imports at runtime is in requirements.txt and in
  that addon's manifest (``external_dependencies["python"]``, by pip name), and the
  manifests declare nothing their addon does not import (issues #11 and #16);
- modules imported by the addons' tests are in requirements.txt or
  requirements-test.txt;
- the image is built from the Dockerfile, which installs requirements.txt; the addons
  and docker/odoo.conf are mounted; Odoo runs with workers behind docker/nginx.conf
  with the limits of the README's "Scaling out" section.
"""

import ast
import configparser
import importlib.metadata
import importlib.util
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
ADDONS = ("spp_oauth", "spp_attendance")

# Imported by Odoo's own core (ORM, HTTP layer, cursor): any Odoo that starts has
# them, and addons use them as part of Odoo's API (ORM errors, HTTP exceptions,
# Markup, dates), so they are not declared. test_provided_by_odoo checks that.
PROVIDED_BY_ODOO = {"dateutil", "lxml", "markupsafe", "psycopg2", "pytz", "werkzeug"}
ODOO_CORE = ("fields.py", "models.py", "http.py", "sql_db.py")

# Import name -> pip name when the distribution is not installed where the test runs.
PIP_NAMES = {"jwt": "pyjwt", "yaml": "pyyaml", "dateutil": "python-dateutil"}


def canonical(name):
    """PEP 503 normalized project name: PyJWT, pyjwt and py_jwt are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_name(module):
    distributions = importlib.metadata.packages_distributions().get(module)
    if distributions:
        return canonical(sorted(distributions)[0])
    return canonical(PIP_NAMES.get(module, module))


def third_party_imports(path):
    """Top-level names of the absolute imports of ``path`` that are neither the standard
    library, nor Odoo, nor one of the addons (wherever they are: a lazy import inside a
    function is a runtime dependency too)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    return {
        module
        for module in modules
        if module not in sys.stdlib_module_names
        and module != "odoo"
        and module not in ADDONS
    }


def addon_imports(addon, tests):
    """{module: [files]} of an addon's runtime code (``tests=False``) or its tests."""
    found = {}
    for path in sorted((ROOT / addon).rglob("*.py")):
        if ("tests" in path.relative_to(ROOT / addon).parts) != tests:
            continue
        for module in third_party_imports(path):
            found.setdefault(module, []).append(str(path.relative_to(ROOT)))
    return found


def requirements(path):
    """{pip name: Requirement} of a requirements or constraints file."""
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            result[canonical(requirement.name)] = requirement
    return result


def requirement_names(path):
    return set(requirements(path))


def manifest(addon):
    return ast.literal_eval((ROOT / addon / "__manifest__.py").read_text())


def declared(addon):
    return manifest(addon).get("external_dependencies", {}).get("python", [])


@pytest.mark.parametrize("addon", ADDONS)
def test_manifest_declares_exactly_what_the_addon_imports(addon):
    imported = {
        pip_name(module): files
        for module, files in addon_imports(addon, tests=False).items()
        if module not in PROVIDED_BY_ODOO
    }
    names = declared(addon)
    missing = {
        name: files
        for name, files in imported.items()
        if name not in {canonical(n) for n in names}
    }
    where = f"{addon}/__manifest__.py"
    assert not missing, f"{where}: external_dependencies lacks {missing}"
    unused = sorted(name for name in names if canonical(name) not in imported)
    assert not unused, f"{where} declares {unused}, which {addon} does not import"


def odoo_core_addons():
    """Names of the addons the installed Odoo distribution ships (None when Odoo
    is not installed here)."""
    try:
        files = importlib.metadata.distribution("odoo").files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    return {
        file.parts[2]
        for file in files
        if len(file.parts) == 4
        and file.parts[:2] == ("odoo", "addons")
        and file.parts[3] == "__manifest__.py"
    }


def addon_packages():
    """pip names of the Odoo addons the manifests depend on that come from PyPI
    (``odoo-addon-<name>``, as the OCA publishes them): every dependency that is
    neither one of this project's addons nor (when Odoo is installed here) one of
    Odoo's own."""
    core = odoo_core_addons()
    names = set()
    for addon in ADDONS:
        for depend in manifest(addon).get("depends", []):
            if depend in ADDONS or (core is not None and depend in core):
                continue
            names.add(canonical(f"odoo-addon-{depend}"))
    return names


def test_requirements_match_the_manifests():
    declared_names = {canonical(name) for addon in ADDONS for name in declared(addon)}
    listed = requirement_names(ROOT / "requirements.txt")
    # Odoo addons from PyPI are declared by the manifests' depends.
    addons = {name for name in listed if name.startswith("odoo-addon-")}
    missing_addons = addon_packages() - addons
    assert not missing_addons, f"depended on, not in requirements.txt: {missing_addons}"
    depends = {
        canonical(f"odoo-addon-{depend}")
        for addon in ADDONS
        for depend in manifest(addon).get("depends", [])
    }
    assert addons <= depends, f"in requirements.txt, no manifest depends: {addons}"
    listed -= addons
    missing, extra = declared_names - listed, listed - declared_names
    assert not missing, f"declared by a manifest, not in requirements.txt: {missing}"
    assert not extra, f"in requirements.txt, declared by no manifest: {extra}"


@pytest.mark.parametrize("addon", ADDONS)
def test_test_imports_are_in_requirement_files(addon):
    listed = requirement_names(ROOT / "requirements.txt") | requirement_names(
        ROOT / "requirements-test.txt"
    )
    missing = {
        module: files
        for module, files in addon_imports(addon, tests=True).items()
        if module not in PROVIDED_BY_ODOO and pip_name(module) not in listed
    }
    assert not missing, f"in neither requirements file: {missing}"


def test_addon_packages_are_pinned_for_the_virtualenv_and_the_image():
    """An Odoo addon from PyPI follows Odoo's series: pinned to one 17.0 release
    in both constraint files."""
    for name in (n for n in requirement_names(ROOT / "requirements.txt")):
        if not name.startswith("odoo-addon-"):
            continue
        for constraints in ("constraints.txt", "docker/constraints.txt"):
            pin = requirements(ROOT / constraints).get(name)
            assert pin, f"{constraints} does not pin {name}"
            (version,) = (spec.version for spec in pin.specifier)
            assert version.startswith("17.0."), (constraints, name, version)


def test_odoo_runs_queue_job_server_wide_with_its_channels():
    """queue_job's job runner starts with the server (server_wide_modules), in the
    image and in the scripts' configuration, with the channels of the background
    work."""
    conf = configparser.ConfigParser()
    conf.read(ROOT / "docker" / "odoo.conf")
    assert "queue_job" in conf["options"]["server_wide_modules"].split(",")
    channels = conf["queue_job"]["channels"]
    for channel in ("root.spp_registry_import:1", "root.spp_uniqueness:1"):
        assert channel in channels.split(","), channels
    lib = (ROOT / "scripts" / "lib.sh").read_text()
    assert "server_wide_modules = base,web,queue_job" in lib
    assert "root.spp_registry_import:${SPP_IMPORT_CAPACITY:-1}" in lib


def test_import_names_map_to_pip_names():
    assert pip_name("jwt") == "pyjwt"
    assert pip_name("dateutil") == "python-dateutil"
    assert pip_name("jsonschema") == "jsonschema"


def test_provided_by_odoo():
    spec = importlib.util.find_spec("odoo")  # locates Odoo without importing it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("Odoo is not installed here")
    odoo_dir = Path(next(iter(spec.submodule_search_locations)))
    imported = set().union(*(third_party_imports(odoo_dir / f) for f in ODOO_CORE))
    assert PROVIDED_BY_ODOO <= imported, PROVIDED_BY_ODOO - imported


# -------------------------------------------------------------------------------------
# Docker set-up (no image is built here: these machines have no Docker daemon)
# -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def dockerfile_instructions():
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in (raw.strip() for raw in text.splitlines())
        if line and not line.startswith("#")
    ]


def odoo_conf():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "docker" / "odoo.conf")
    return parser["options"]


def test_dockerfile_installs_requirements_txt():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "odoo:17.0")
    copied = {}
    for keyword, arguments in instructions:
        if keyword == "COPY":
            *sources, destination = shlex.split(arguments)
            for source in sources:
                copied[source] = destination.rstrip("/") + "/" + Path(source).name
    assert "requirements.txt" in copied
    installs = [
        shlex.split(arguments)
        for keyword, arguments in instructions
        if keyword == "RUN" and "pip3 install" in arguments
    ]
    assert installs, "no pip install in the Dockerfile"
    words = installs[0]
    assert words[words.index("-r") + 1] == copied["requirements.txt"]
    constraints = words[words.index("-c") + 1]
    assert constraints == copied["docker/constraints.txt"]
    # Only Odoo's Python 3.11 virtualenv pins (constraints.txt) may not reach the image.
    assert "constraints.txt" not in copied
    # The build context keeps what the Dockerfile copies.
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    if "*" in ignored:
        assert {f"!{source}" for source in copied} <= set(ignored)


def test_image_constraints_fit_requirements():
    """docker/constraints.txt holds the image's own versions of the Odoo dependencies
    requirements.txt names: they must satisfy requirements.txt, or pip would fail."""
    wanted = requirements(ROOT / "requirements.txt")
    pinned = requirements(ROOT / "docker" / "constraints.txt")
    for name, pin in pinned.items():
        assert name in wanted, f"docker/constraints.txt pins {name}, not a requirement"
        (version,) = (spec.version for spec in pin.specifier)
        assert wanted[name].specifier.contains(version), (name, version)


def test_compose_builds_the_image_and_mounts_the_addons(compose):
    services = compose["services"]
    for name in ("odoo", "init"):
        service = services[name]
        build = service["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile"
            if isinstance(build, str)
            else build.get("dockerfile", "Dockerfile")
        )
        assert (ROOT / context / dockerfile).resolve() == ROOT / "Dockerfile"
        assert "command" not in service or "pip" not in str(service["command"])
        mounts = {
            volume.split(":")[0]: volume.split(":")[1] for volume in service["volumes"]
        }
        addons_path = odoo_conf()["addons_path"].split(",")
        for addon in ADDONS:
            assert f"{Path(mounts[f'./{addon}']).parent}" in addons_path, addon
        assert mounts["./docker/odoo.conf"] == "/etc/odoo/odoo.conf"


def test_compose_init_creates_the_database_with_both_addons(compose):
    init = compose["services"]["init"]
    command = init["command"]
    command = command if isinstance(command, list) else shlex.split(command)
    installed = next(
        word.split("=", 1)[1] for word in command if word.startswith("--init=")
    )
    assert set(installed.split(",")) == set(ADDONS)
    assert "--stop-after-init" in command
    assert init.get("profiles"), "init must not run with `docker compose up`"
    assert odoo_conf()["db_name"]


def test_compose_runs_odoo_behind_nginx(compose):
    services = compose["services"]
    # proxy_mode trusts X-Forwarded-For: Odoo must be reachable only through nginx.
    assert not services["odoo"].get("ports")
    nginx_volumes = services["nginx"]["volumes"]
    assert any(volume.startswith("./docker/nginx.conf:") for volume in nginx_volumes)
    conf = odoo_conf()
    assert conf.getboolean("proxy_mode")
    assert conf.getint("workers") >= 2
    nginx = (ROOT / "docker" / "nginx.conf").read_text()
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", nginx).group(1))
    assert read_timeout > conf.getint("limit_time_real")
    # The API's body limit (spp_attendance/api/schemas.py) is nginx's on the API routes.
    schemas = ast.parse((ROOT / "spp_attendance/api/schemas.py").read_text())
    max_body = next(
        eval(compile(ast.Expression(node.value), "schemas.py", "eval"), {})
        for node in schemas.body
        if isinstance(node, ast.Assign)
        and getattr(node.targets[0], "id", None) == "MAX_BODY_SIZE"
    )
    assert f"client_max_body_size {max_body // 2**20}m;" in nginx
    assert f"at most {max_body} bytes" in nginx
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert f"proxy_set_header {header} " in nginx
    gevent_port = conf.getint("gevent_port")
    assert re.search(rf"upstream odoo_gevent {{\s*server odoo:{gevent_port};", nginx)
    assert re.search(r"location /websocket {\s*proxy_pass http://odoo_gevent;", nginx)
