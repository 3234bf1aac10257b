"""A real OpenLDAP server (Debian's `slapd`, mdb backend) in a temporary folder on a free local port,
loaded with a small hospital: people under ou=people, groups of names under ou=groups."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import ldap3

BASE = "dc=hospital,dc=example"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "slapd-admin"
SERVICE_DN = f"cn=qinglian,ou=services,{BASE}"
SERVICE_PASSWORD = "service-secret"

CONFIG = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
database mdb
maxsize 10485760
suffix "{base}"
rootdn "{admin}"
rootpw {admin_password}
directory {dir}/data
access to attrs=userPassword by self read by anonymous auth by * none
access to * by dn.exact="{service}" read by self read by * none
"""


def person(uid: str, name: str, department: str, password: str, *, mail: str | None = None,
           mobile: str | None = None) -> str:
    lines = [f"dn: uid={uid},ou=people,{BASE}", "objectClass: inetOrgPerson", f"uid: {uid}", f"cn: {name}",
             f"sn: {name[0]}", f"departmentNumber: {department}", f"userPassword: {password}"]
    lines += [f"mail: {mail}"] if mail else []
    lines += [f"mobile: {mobile}"] if mobile else []
    return "\n".join(lines) + "\n"


def group(cn: str, *uids: str) -> str:
    return "\n".join([f"dn: cn={cn},ou=groups,{BASE}", "objectClass: groupOfNames", f"cn: {cn}"]
                     + [f"member: uid={u},ou=people,{BASE}" for u in uids]) + "\n"


HOSPITAL = "\n".join([
    f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: hospital\no: 某某人民医院\n",
    f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n",
    f"dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n",
    f"dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services\n",
    f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: qinglian\n"
    f"userPassword: {SERVICE_PASSWORD}\n",
    person("wanghong", "王红", "NK01", "Wang-hong-2026", mail="wanghong@hospital.example", mobile="13900000001"),
    person("zhaoqiang", "赵强", "NK01", "Zhao-qiang-2026"),
    person("lijun", "李军", "JJ01", "Li-jun-2026"),
    group("neike-heads", "zhaoqiang"),
    group("jijian", "lijun"),
])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Slapd:
    def __init__(self, folder: Path):
        self.dir = folder
        self.port = _free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Slapd":
        (self.dir / "data").mkdir(parents=True)
        conf = self.dir / "slapd.conf"
        conf.write_text(CONFIG.format(dir=self.dir, base=BASE, admin=ADMIN_DN, admin_password=ADMIN_PASSWORD,
                                      service=SERVICE_DN))
        ldif = self.dir / "hospital.ldif"
        ldif.write_text(HOSPITAL, encoding="utf-8")
        subprocess.run(["slapadd", "-f", str(conf), "-l", str(ldif)], check=True, capture_output=True)
        self.proc = subprocess.Popen(["slapd", "-d", "0", "-h", f"{self.url}/", "-f", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"slapd did not start: {self.proc.stderr.read().decode()[-2000:]}")
                time.sleep(0.05)

    def admin(self) -> ldap3.Connection:
        return ldap3.Connection(ldap3.Server(self.url), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
