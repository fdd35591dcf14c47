"""gunicorn.conf.py's access logger writes exactly the lines gunicorn's own would."""

from __future__ import annotations

import base64
import datetime
import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

ROOT = Path(__file__).resolve().parents[1]

FORMATS = [
    None,  # gunicorn's default
    '%(h)s %(l)s %(u)s "%(r)s" %(s)s %(b)s %(B)s "%(f)s" "%(a)s" %(m)s %(U)s %(q)s %(H)s',
    "%(T)s %(D)s %(M)s %(L)s %(p)s %(x)s %(t)s",
    '"%({user-agent}i)s" %({X-Twice}i)s %({content-type}o)s %({REMOTE_ADDR}e)s '
    "%({missing}i)s %({missing}o)s %({missing}e)s %({odd}x)s",
]


@pytest.fixture
def conf(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    yield runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    logging.getLogger("gunicorn.access").handlers.clear()  # the closed files of the test


def _request(status="200 OK", sent=291, user=None):
    headers = [("HOST", "127.0.0.1:8000"), ("USER-AGENT", 'curl "quoted"'),
               ("X-TWICE", "first"), ("X-TWICE", "second")]
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/api/jobs/abc?x=1",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.5",
               "PATH_INFO": "/api/jobs/abc", "QUERY_STRING": "x=1",
               "HTTP_USER_AGENT": 'curl "quoted"', "HTTP_REFERER": "http://example.test/"}
    if user:
        token = base64.b64encode(f"{user}:secret".encode()).decode()
        environ["HTTP_AUTHORIZATION"] = f"Basic {token}"
    resp = SimpleNamespace(status=status, sent=sent,
                           headers=[("Content-Type", "application/json"), ("Vary", "Cookie")])
    return resp, SimpleNamespace(headers=headers), environ


def _lines(logger_class, path: Path, fmt, requests, logconfig_dict=None):
    cfg = Config()
    cfg.set("accesslog", str(path))
    if fmt:
        cfg.set("access_log_format", fmt)
    if logconfig_dict:
        cfg.set("logconfig_dict", logconfig_dict)
    # The access logger as gunicorn sets it up, without the capture handlers that pytest
    # hangs on loggers that do not propagate.
    logging.getLogger("gunicorn.access").handlers.clear()
    log = logger_class(cfg)
    log.now = lambda: "[05/Dec/2026:20:24:02 +0000]"  # both the same instant
    took = datetime.timedelta(seconds=1, microseconds=2345)
    for resp, req, environ in requests:
        log.access(resp, req, environ, took)
    for handler in log.access_log.handlers:
        handler.close()
    return log, path.read_text()


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_lines_as_gunicorns_logger(conf, tmp_path, fmt):
    requests = [_request(), _request("404 NOT FOUND", None, user="ann"), _request(status=503)]
    _, theirs = _lines(Logger, tmp_path / "theirs.log", fmt, requests)
    log, ours = _lines(conf["AccessLogger"], tmp_path / "ours.log", fmt, requests)
    assert log._direct is not None  # gunicorn's own file handler: written straight to it
    assert ours == theirs
    assert len(ours.splitlines()) == 3
    if fmt != FORMATS[2]:
        assert '\\"quoted\\"' in ours  # escaped as gunicorn escapes it


def test_a_log_config_goes_through_logging_as_before(conf, tmp_path):
    requests = [_request()]
    config = {
        "version": 1,
        "formatters": {"tagged": {"format": "access: %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "formatter": "tagged",
                              "filename": str(tmp_path / "configured.log")}},
        "loggers": {"gunicorn.access": {"handlers": ["file"], "level": "INFO",
                                        "propagate": False}},
        "root": {"level": "INFO", "handlers": []},
    }
    log, _ = _lines(conf["AccessLogger"], tmp_path / "unused.log", None, requests,
                    logconfig_dict=config)
    assert log._direct is None
    _, plain = _lines(Logger, tmp_path / "plain.log", None, requests)
    assert (tmp_path / "configured.log").read_text() == "access: " + plain


def test_the_api_uses_it_on_stdout(conf):
    assert conf["logger_class"] is conf["AccessLogger"] and conf["accesslog"] == "-"
    cfg = Config()
    cfg.set("accesslog", conf["accesslog"])
    logging.getLogger("gunicorn.access").handlers.clear()
    log = conf["AccessLogger"](cfg)
    assert [type(h) for h in log._direct] == [logging.StreamHandler]
