"""Cluster configs for the scale benchmarks (issue 7 §2), made from the shipped config.

    python bench/genconfig.py --members 400 --out DIR                 # one 400-member cluster
    python bench/genconfig.py --clusters 1000 --members 10 --out DIR  # 1,000 files, one folder
    python bench/genconfig.py --members 400 --out DIR --transport smtp --smtp-port 2525

The milestones, reminder policy, holidays, delivery and mail wording are the shipped
cluster's (`config/*.toml`), so the generated year has the regulation's real calendar;
only the cluster's identity, its members, their contacts and operators are generated.
Every member has a focal officer and a head, each with a unique address under example.vn
(email-validator refuses the reserved `.test` domain, so the shipped placeholder domain is
used). With `--clusters`, members are communes ("Xã …", since 2025 a cluster's members may
be communes) and each cluster gets its own id, so one folder loads with
`tracker --config DIR init`. The output is deterministic: the same arguments write the same
bytes.

The files are written with a small TOML writer of our own (the standard library reads TOML
but does not write it, and the bench should need nothing beyond the tracker's own
dependencies).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tomllib
from pathlib import Path
from typing import Any

SHIPPED = Path(__file__).resolve().parent.parent / "config"

# Syllables for place names: deterministic, pronounceable, with diacritics so the letters
# exercise the same Unicode paths as real ones.
_FIRST = [
    "Mường",
    "Nậm",
    "Tả",
    "Pá",
    "Sín",
    "Huổi",
    "Na",
    "Chà",
    "Phìn",
    "Lay",
    "Xá",
    "Tủa",
    "Sáng",
    "Ẳng",
    "Búng",
    "Quài",
]
_SECOND = [
    "Nhé",
    "Pồ",
    "Lèng",
    "Khoang",
    "Chải",
    "Lếch",
    "Son",
    "Tở",
    "Hồ",
    "Toong",
    "Phình",
    "Mý",
    "Cang",
    "Lao",
    "Nưa",
    "Chua",
]
_FAMILY = ["Lò", "Vàng", "Giàng", "Lường", "Cà", "Quàng", "Sùng", "Mùa", "Thào", "Hoàng"]
_GIVEN = ["Thị Hoa", "A Dính", "Văn Minh", "Thị Lan", "A Sử", "Văn Thắng", "Thị Mai", "A Chư"]


def place_name(i: int) -> str:
    """A distinct two-syllable name for every i < 256, then numbered: 'Mường Nhé 2'."""
    base = f"{_FIRST[i % len(_FIRST)]} {_SECOND[(i // len(_FIRST)) % len(_SECOND)]}"
    cycle = i // (len(_FIRST) * len(_SECOND))
    return base if cycle == 0 else f"{base} {cycle + 1}"


def person(i: int) -> str:
    return f"{_FAMILY[i % len(_FAMILY)]} {_GIVEN[i % len(_GIVEN)]}"


def shipped_config(path: Path | None = None) -> dict[str, Any]:
    """The shipped config as TOML data (the first file of config/ unless `path` says)."""
    if path is None:
        files = sorted(SHIPPED.glob("*.toml"))
        if not files:
            raise SystemExit(f"no shipped config in {SHIPPED}")
        path = files[0]
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _member(cluster_no: int | None, i: int, commune: bool) -> dict[str, Any]:
    """Member i (1-based) of cluster `cluster_no` (None: the single-cluster mode)."""
    prefix = "" if cluster_no is None else f"c{cluster_no:04d}."
    mid = f"m{i:04d}"
    place = place_name((i - 1) + (0 if cluster_no is None else cluster_no * 7))
    if commune:
        name, authority, office = f"Xã {place}", f"UBND xã {place}", f"Văn phòng UBND xã {place}"
        head_title = f"Chủ tịch UBND xã {place}"
    else:
        name, authority = f"Huyện {place}", f"UBND huyện {place}"
        office, head_title = f"Phòng Nội vụ huyện {place}", f"Chủ tịch UBND huyện {place}"
    return {
        "id": mid,
        "name": name,
        "kind": "commune" if commune else "district",
        "authority": authority,
        "office": office,
        "address": f"Trụ sở {authority}, tỉnh Điện Biên",
        "contacts": [
            {
                "role": "focal",
                "name": person(i),
                "title": "Chuyên viên",
                "email": f"{prefix}{mid}@example.vn",
            },
            {
                "role": "head",
                "name": person(i + 3),
                "title": head_title,
                "office": authority,
                "email": f"{prefix}{mid}.head@example.vn",
            },
        ],
    }


def make_config(
    base: dict[str, Any],
    *,
    members: int,
    cluster_no: int | None = None,
    commune: bool = False,
    mail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One cluster's config: `base` (the shipped data) with generated members, leader,
    operators and identity. `mail` overrides keys of `[mail]` (transport, port, folder)."""
    if members < 1:
        raise ValueError("a cluster needs at least one member")
    cfg = {k: v for k, v in base.items()}
    suffix = "" if cluster_no is None else f"-{cluster_no:04d}"
    cid = f"cum-bench{suffix}"
    cluster = dict(base["cluster"])
    cluster.update(
        id=cid,
        name=f"Cụm thi đua bench{suffix}",
        name_en=f"Benchmark emulation cluster{suffix}",
    )
    cfg["cluster"] = cluster
    mems = [_member(cluster_no, i, commune) for i in range(1, members + 1)]
    cfg["members"] = mems
    leader = mems[0]
    cycle = dict(base["cycle"])
    cycle["leader"] = leader["id"]
    cycle.pop("next_leader", None)
    cfg["cycle"] = cycle
    prefix = "" if cluster_no is None else f"c{cluster_no:04d}."
    office_mail = f"{prefix}truong-cum@example.vn"
    m = dict(base.get("mail", {}))
    m.update(from_address=f"{cid}@example.vn", reply_to=office_mail)
    if "contact" in m:
        m["contact"] = {**m["contact"], "email": office_mail}
    m.update(mail or {})
    cfg["mail"] = m
    ops: list[dict[str, Any]] = [
        {
            "id": "truong-cum",
            "name": f"Bộ phận giúp việc Trưởng cụm ({leader['office']})",
            "role": "leader",
            "email": office_mail,
            "member": leader["id"],
        }
    ]
    ops += [{"id": f"op-{x['id']}", "name": x["office"], "role": f"member:{x['id']}"} for x in mems]
    ops.append({"id": "xem", "name": "Ban Thi đua - Khen thưởng tỉnh (xem)", "role": "viewer"})
    cfg["operators"] = ops
    return cfg


# ---------------------------------------------------------------- a small TOML writer


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, str):
        out = v.replace("\\", "\\\\").replace('"', '\\"')
        out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        return f'"{out}"'
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_scalar(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _key(k: str) -> str:
    return k if k.replace("-", "").replace("_", "").isalnum() and k.isascii() else _scalar(k)


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def dumps(data: dict[str, Any]) -> str:
    """TOML for config-shaped data: top-level scalars, [tables] (one level, deeper dicts
    inline) and [[arrays of tables]] (values inline)."""
    lines: list[str] = []
    for k, v in data.items():
        if not isinstance(v, dict) and not _is_table_array(v):
            lines.append(f"{_key(k)} = {_scalar(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            lines += ["", f"[{_key(k)}]"]
            lines += [f"{_key(kk)} = {_scalar(vv)}" for kk, vv in v.items()]
    for k, v in data.items():
        if _is_table_array(v):
            for item in v:
                lines += ["", f"[[{_key(k)}]]"]
                lines += [f"{_key(kk)} = {_scalar(vv)}" for kk, vv in item.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def write_configs(
    out: Path,
    *,
    members: int,
    clusters: int | None = None,
    mail: dict[str, Any] | None = None,
    base: dict[str, Any] | None = None,
) -> list[Path]:
    """Write the config file(s) into `out` (created); returns their paths, sorted."""
    base = shipped_config() if base is None else base
    out.mkdir(parents=True, exist_ok=True)
    year = base["cycle"]["year"]
    header = "# Generated by bench/genconfig.py from the shipped config; do not edit.\n"
    paths: list[Path] = []
    if clusters is None:
        cfg = make_config(base, members=members, mail=mail)
        paths.append(out / f"{cfg['cluster']['id']}-{year}.toml")
        paths[-1].write_text(header + dumps(cfg), encoding="utf-8")
        return paths
    for c in range(1, clusters + 1):
        cfg = make_config(base, members=members, cluster_no=c, commune=True, mail=mail)
        paths.append(out / f"{cfg['cluster']['id']}-{year}.toml")
        paths[-1].write_text(header + dumps(cfg), encoding="utf-8")
    return paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--out", type=Path, required=True, help="folder to write into (created)")
    p.add_argument("--members", type=int, default=None, help="members per cluster")
    p.add_argument(
        "--clusters",
        type=int,
        default=None,
        help="write this many cluster files (national mode; default members 10)",
    )
    p.add_argument("--transport", choices=["file", "smtp", "memory"], default=None)
    p.add_argument("--smtp-host", default="127.0.0.1")
    p.add_argument("--smtp-port", type=int, default=None)
    p.add_argument("--mail-dir", default=None, help="[mail] directory for the file transport")
    args = p.parse_args(argv)
    members = args.members or (10 if args.clusters else 400)
    mail: dict[str, Any] = {}
    if args.transport:
        mail["transport"] = args.transport
    if args.transport == "smtp":
        # A loopback sink speaks plain SMTP; the tracker allows `plain` only when the
        # config says so.
        mail.update(smtp_host=args.smtp_host, security="plain")
        if args.smtp_port:
            mail["smtp_port"] = args.smtp_port
    if args.mail_dir:
        mail["directory"] = args.mail_dir
    paths = write_configs(args.out, members=members, clusters=args.clusters, mail=mail)
    print(f"{len(paths)} file(s), {members} member(s) each, in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
