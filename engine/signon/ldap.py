"""LDAP / Active Directory: find a person's entry with the service account, bind as them with their
password, and read their name, department, mailbox, mobile and groups (groups map to roles)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from engine.errors import Unavailable

DEFAULT_ATTRIBUTES = {"name": "cn", "department": "departmentNumber", "email": "mail", "phone": "mobile"}


class DirectoryUnavailable(Unavailable):
    """The directory did not answer (or refused the service account): nobody's fault at the sign-in page."""

    code = "directory_unavailable"


@dataclass(frozen=True)
class Person:
    """A person as the directory describes them."""

    username: str
    dn: str
    name: str
    department: str | None
    email: str | None
    phone: str | None
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Directory:
    url: str
    bind_dn: str | None
    bind_password: str | None
    base_dn: str
    user_filter: str = "(uid={username})"
    attributes: dict = field(default_factory=dict)
    group_roles: dict = field(default_factory=dict)     # group DN or cn → role code(s)
    departments: dict = field(default_factory=dict)     # department attribute value → department code
    sync_minutes: float = 0.0
    timeout: int = 5                  # seconds (ldap3 packs it as an integer)

    @classmethod
    def from_settings(cls, settings) -> "Directory | None":
        if not settings.ldap_url:
            return None
        return cls(settings.ldap_url, settings.ldap_bind_dn, settings.ldap_bind_password, settings.ldap_base_dn,
                   settings.ldap_user_filter, dict(settings.ldap_attributes), dict(settings.ldap_group_roles),
                   dict(settings.ldap_departments), settings.ldap_sync_minutes)

    def _attr(self, key: str) -> str:
        return {**DEFAULT_ATTRIBUTES, **self.attributes}[key]

    def _connect(self, dn: str | None, password: str | None) -> ldap3.Connection:
        server = ldap3.Server(self.url, connect_timeout=self.timeout, get_info=ldap3.NONE)   # AD and OpenLDAP alike: no schema checks
        return ldap3.Connection(server, dn, password, receive_timeout=self.timeout, raise_exceptions=False,
                                read_only=True)

    def _service(self) -> ldap3.Connection:
        conn = self._connect(self.bind_dn, self.bind_password)
        try:
            bound = conn.bind()
        except LDAPException as exc:
            raise DirectoryUnavailable("目录服务暂时无法连接，请稍后再试", detail=type(exc).__name__) from None
        if not bound:
            raise DirectoryUnavailable("目录服务暂时无法连接，请稍后再试", detail="service bind refused")
        return conn

    def _username_attr(self) -> str:
        """The attribute the filter compares with {username}: uid, sAMAccountName…"""
        found = re.search(r"\(([\w;-]+)=\{username\}\)", self.user_filter)
        return found.group(1) if found else "uid"

    def find(self, username: str) -> Person | None:
        """The person named `username`, read with the service account, or None."""
        conn = self._service()
        try:
            return self._search(conn, self.user_filter.format(username=escape_filter_chars(username)), one=True)
        finally:
            conn.unbind()

    def everyone(self) -> list[Person]:
        """Everyone the user filter admits (for the sync)."""
        conn = self._service()
        try:
            return self._search(conn, self.user_filter.format(username="*"), one=False)
        finally:
            conn.unbind()

    def _search(self, conn, query: str, *, one: bool):
        name_attr = self._username_attr()
        wanted = [a for a in [name_attr, "memberOf"] + [self._attr(k) for k in DEFAULT_ATTRIBUTES] if a]
        # Paged: Active Directory answers at most 1000 entries to a plain search.
        entries = [e for e in conn.extend.standard.paged_search(self.base_dn, query, search_scope=ldap3.SUBTREE,
                                                                  attributes=wanted, paged_size=500, generator=False)
                   if e.get("type") == "searchResEntry"]
        people = [self._person(conn, e, name_attr) for e in entries]
        if one:
            return people[0] if len(people) == 1 else None
        return people

    def _person(self, conn, entry: dict, name_attr: str) -> Person:
        attrs = entry["attributes"]

        def first(key: str) -> str | None:
            value = attrs.get(self._attr(key))
            value = value[0] if isinstance(value, list) and value else value
            return str(value) if value not in (None, [], "") else None

        username = attrs.get(name_attr)
        username = str(username[0] if isinstance(username, list) else username)
        groups = {str(g) for g in attrs.get("memberOf") or []}
        dn = entry["dn"]
        conn.search(self.base_dn, f"(|(member={escape_filter_chars(dn)})(uniqueMember={escape_filter_chars(dn)})"
                                  f"(memberUid={escape_filter_chars(username)}))", attributes=["cn"])
        for g in conn.response or []:
            if g.get("type") == "searchResEntry":
                groups.add(g["dn"])
        return Person(username, dn, first("name") or username, first("department"), first("email"),
                      first("phone"), tuple(sorted(groups)))

    def authenticate(self, username: str, password: str) -> Person | None:
        """The person, if `password` is theirs; None otherwise. An empty password is refused here:
        LDAP treats a bind with one as anonymous, and it would succeed."""
        if not username or not password:
            return None
        person = self.find(username)
        if person is None:
            return None
        conn = self._connect(person.dn, password)
        try:
            return person if conn.bind() else None
        except LDAPException:
            return None
        finally:
            conn.unbind()


def roles_of(person: Person, group_roles: dict) -> list[str]:
    """Role codes from the person's groups (by DN or by the group's cn); `staff` when none maps."""
    mapped = {k.casefold(): v for k, v in group_roles.items()}
    roles = set()
    for dn in person.groups:
        cn = dn.split(",", 1)[0].split("=", 1)[-1]
        for key in (dn.casefold(), cn.casefold()):
            if key in mapped:
                value = mapped[key]
                roles.update([value] if isinstance(value, str) else value)
    return sorted(roles or {"staff"})
