"""The deployment kit in deploy/: what this machine can run, it runs.

Debian's nginx in front of a real ``wxloan serve`` (the shipped site without its TLS
lines), ``nginx -t`` on the shipped site itself, ``systemd-analyze verify`` on the unit,
and the Containerfile's install and start commands against the README's (no image can
be built here: no registry is reachable).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.wechat import TOKEN, WeChat

from .test_bot.serving import Serve, child_env, free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SITE = (DEPLOY / "nginx" / "wxloan.conf").read_text(encoding="utf-8")


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the deployment tests: install Debian's nginx-light")
        pytest.skip("no nginx (apt-get install nginx-light)")
    return found


def _main_conf(tmp: Path, site: str) -> Path:
    """An nginx.conf around ``site`` that keeps every file inside ``tmp``."""
    (tmp / "site.conf").write_text(site, encoding="utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\nerror_log {tmp}/error.log;\npid {tmp}/nginx.pid;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n client_body_temp_path {tmp}/body;\n proxy_temp_path {tmp}/proxy;\n"
        f" fastcgi_temp_path {tmp}/fcgi;\n uwsgi_temp_path {tmp}/uwsgi;\n"
        f" scgi_temp_path {tmp}/scgi;\n access_log {tmp}/access.log;\n"
        f" include {tmp}/site.conf;\n}}\n", encoding="utf-8")
    return conf


def _logs_into(site: str, tmp: Path) -> str:
    return site.replace("/var/log/nginx/", f"{tmp}/")


def _plain_site(listen: int, upstream: int, tmp: Path) -> str:
    """The shipped site on plain HTTP: the TLS server block's directives as shipped, minus
    its ``listen … ssl`` and ``ssl_*`` lines; the port-80 redirect block left out."""
    tls = SITE[SITE.index("server {\n    listen 443"):]
    head = SITE[:SITE.index("server {")]
    lines = [line for line in tls.splitlines()
             if not re.match(r"\s*(listen |ssl_)", line)]
    lines.insert(1, f"    listen 127.0.0.1:{listen};")
    site = head.replace("127.0.0.1:8080", f"127.0.0.1:{upstream}") + "\n".join(lines) + "\n"
    return _logs_into(site, tmp)


def test_the_site_keeps_the_settings_wechat_needs() -> None:
    assert re.search(r"proxy_read_timeout\s+5s;", SITE)
    assert re.search(r"client_max_body_size\s+64k;", SITE)  # = WXLOAN_MAX_BODY's default
    assert "server 127.0.0.1:8080;" in SITE
    for path in ("/wechat", "/miniprogram", "/healthz"):
        assert f"location = {path} {{" in SITE


def test_nginx_in_front_of_wxloan_serve(tmp_path: Path) -> None:
    nginx = _nginx()
    app_port, proxy_port = free_port(), free_port()
    conf = _main_conf(tmp_path, _plain_site(proxy_port, app_port, tmp_path))
    server = Serve("--port", str(app_port), "--db", str(tmp_path / "d.db"),
                   env=child_env(WECHAT_TOKEN=TOKEN))
    started = False
    try:
        server.wait_for("wxloan serving")
        # daemon mode: the command returns once the listening socket is bound
        subprocess.run([nginx, "-p", str(tmp_path), "-c", str(conf)], check=True,
                       capture_output=True, timeout=30)
        started = True
        answers, too_big = asyncio.run(_through(proxy_port))
        assert all(status == 200 and "微信借贷助手" in text for status, text in answers)
        assert too_big == 413  # nginx refuses it before the app sees it
        assert "POST /wechat" in (tmp_path / "wxloan.access.log").read_text()
    finally:
        if started:
            subprocess.run([nginx, "-p", str(tmp_path), "-c", str(conf), "-s", "stop"],
                           capture_output=True, timeout=30)
        server.close()


async def _through(port: int) -> tuple[list[tuple[int, str]], int]:
    import aiohttp

    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as http:
        wechat = WeChat(http)  # type: ignore[arg-type]
        replies = [await wechat.text(f"n{n}", "你好") for n in range(5)]
        big = await http.post("/wechat", data=b"x" * 70_000)
    return [(r.status, r.content) for r in replies], big.status


def test_nginx_accepts_the_shipped_site(tmp_path: Path) -> None:
    nginx = _nginx()
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=wx.example.com", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    site = _logs_into(SITE, tmp_path)
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    site = site.replace("/var/www/", f"{tmp_path}/")
    conf = _main_conf(tmp_path, site)
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@pytest.mark.parametrize("name", ["wxloan.service", "wxloan-dashboard.service"])
def test_the_unit_verifies(tmp_path: Path, name: str) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze on this machine")
    unit = (DEPLOY / name).read_text(encoding="utf-8")
    assert "User=wxloan" in unit and "Restart=on-failure" in unit
    assert "EnvironmentFile=" in unit
    if name == "wxloan.service":
        assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    else:  # loopback by default: a token is only needed once the operator opens it up
        assert "wxloan dashboard --host 127.0.0.1" in unit
    assert re.search(r"^NoNewPrivileges=(yes|true)$", unit, re.M)
    wxloan = shutil.which("wxloan")
    assert wxloan is not None
    (tmp_path / name).write_text(
        unit.replace("/opt/wxloan/venv/bin/wxloan", wxloan), encoding="utf-8")
    result = subprocess.run([analyze, "verify", str(tmp_path / name)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_containerfile_installs_and_starts_as_the_readme_says() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme[readme.index("## 快速开始"):]
    block = re.search(r"```sh\n(.*?)\n```", quick, re.S)
    assert block is not None
    install, start = (part.strip() for part in block.group(1).split("&&"))
    container = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    assert f"RUN {install}\n" in container
    cmd = re.search(r"^CMD (\[.*\])$", container, re.M)
    assert cmd is not None
    import json

    assert " ".join(json.loads(cmd.group(1))).startswith(start)
    assert re.search(r"^USER (?!root)\w+", container, re.M)
    assert "HEALTHCHECK" in container and "/healthz" in container


def test_the_environment_file_example_lists_every_setting() -> None:
    from wxloan.bot.config import ENV_VARS

    example = (DEPLOY / "wxloan.env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert set(ENV_VARS) <= named, sorted(set(ENV_VARS) - named)
