"""``qingka provision …``: field provisioning with a signed USB stick (office and box side).

Office: ``keygen DIR``, ``revoke TRUST KEY_ID``, ``enroll-read STICK``, ``make --config FILE
--out STICK``, ``sign --key KEY STICK``, ``verify STICK``, ``inspect STICK``.
Box: ``apply STICK``, ``from-device /dev/sdXN`` (what qingka-provision@.service runs),
``identity``. Exit codes: 0 done (applied, enrollment written, verified), 1 refused or failed
(also: applied, but a service could not be restarted), 2 bad arguments. A STICK that is not a
folder is refused before anything is read or written. Human output follows ``--lang`` (Chinese
by default); ``--json`` is the same in every language. The provisioning package is imported
inside the handlers only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.cli.output import (
    EXIT_FAILED,
    EXIT_OK,
    default_lang,
    print_error,
    print_json,
    say,
)

if TYPE_CHECKING:
    from provisioning.paths import Paths
    from provisioning.report import Outcome
    from provisioning.trust import TrustStore


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``provision`` with its actions."""
    parser = subparsers.add_parser(
        "provision", help="make, sign, check and apply signed USB-stick bundles"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    box = argparse.ArgumentParser(add_help=False)
    box.add_argument(
        "--root", type=Path, help="put every box path below this folder (tests, training)"
    )
    box.add_argument("--api-socket", type=Path, help="the daemon's API socket")
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print JSON for machines")
    trust_flag = argparse.ArgumentParser(add_help=False)
    trust_flag.add_argument(
        "--trust", type=Path, help="trust store file (default: this machine's, if any)"
    )

    keygen = actions.add_parser("keygen", help="make an office signing key in DIR")
    keygen.add_argument("dir", type=Path, metavar="DIR")
    keygen.add_argument("--name", default="office", help="key name (file DIR/NAME.key)")
    keygen.set_defaults(handler=run_keygen)

    revoke = actions.add_parser("revoke", help="revoke a signing key in a trust store file")
    revoke.add_argument("trust_file", type=Path, metavar="TRUST")
    revoke.add_argument("key_id", metavar="KEY_ID")
    revoke.set_defaults(handler=run_revoke)

    enroll = actions.add_parser(
        "enroll-read", parents=[json_flag], help="list the enrollment requests on a stick"
    )
    enroll.add_argument("stick", metavar="STICK")
    enroll.set_defaults(handler=run_enroll_read)

    make = actions.add_parser("make", help="write a bundle for one box onto a stick (unsigned)")
    make.add_argument("--config", type=Path, required=True, metavar="FILE")
    make.add_argument("--out", required=True, metavar="STICK")
    make.set_defaults(handler=run_make)

    sign = actions.add_parser("sign", help="sign the bundle on a stick")
    sign.add_argument("--key", type=Path, required=True, metavar="KEY")
    sign.add_argument("stick", metavar="STICK")
    sign.set_defaults(handler=run_sign)

    verify = actions.add_parser(
        "verify", parents=[json_flag, trust_flag, box], help="check a stick as a box would"
    )
    verify.add_argument("stick", metavar="STICK")
    verify.add_argument("--box", metavar="BOX_ID", help="also check the bundle is for this box")
    verify.set_defaults(handler=run_verify)

    inspect = actions.add_parser(
        "inspect", parents=[json_flag, trust_flag, box], help="show what a stick holds"
    )
    inspect.add_argument("stick", metavar="STICK")
    inspect.set_defaults(handler=run_inspect)

    apply = actions.add_parser("apply", parents=[json_flag, box], help="apply a stick to this box")
    apply.add_argument("stick", metavar="STICK", help="the stick's mount point")
    apply.set_defaults(handler=run_apply)

    device = actions.add_parser(
        "from-device",
        parents=[json_flag, box],
        help="mount a stick read-only, apply it, report, unmount (the udev-started unit)",
    )
    device.add_argument("device", type=Path, metavar="DEVICE", help="e.g. /dev/sda1")
    device.set_defaults(handler=run_from_device)

    ident = actions.add_parser(
        "identity", parents=[json_flag, box], help="show this box's id and key fingerprint"
    )
    ident.set_defaults(handler=run_identity)


def _paths(args: argparse.Namespace) -> Paths:
    from provisioning.paths import Paths  # noqa: PLC0415

    return Paths.from_env(getattr(args, "root", None), getattr(args, "api_socket", None))


def _stick(text: str, folder: bool = False) -> Path:
    """Return the STICK argument as a path; ``NoStick`` unless it is a folder (with ``QINGKA``)."""
    from provisioning.stick import stick_root  # noqa: PLC0415

    return stick_root(text, folder)


def _fail(exc: Exception) -> int:
    from provisioning.errors import ProvisionError  # noqa: PLC0415

    if isinstance(exc, ProvisionError):
        what, action = exc.text(default_lang())
        print_error(f"{what} [{exc.code}]")
        print_error(action)
    else:
        print_error(str(exc))
    return EXIT_FAILED


def _trust(args: argparse.Namespace) -> TrustStore | None:
    from provisioning import trust  # noqa: PLC0415
    from provisioning.errors import TrustStoreNotGiven  # noqa: PLC0415

    if args.trust is not None:
        store = trust.read_file(args.trust)
        if store is None:
            raise TrustStoreNotGiven(f"{args.trust} does not exist")
        return store
    paths = _paths(args)
    if not (paths.image_trust_dir / trust.TRUST_FILE).exists():
        return None
    return trust.effective(paths.image_trust_dir, paths.trust_dir)


def run_keygen(args: argparse.Namespace) -> int:
    """Make a signing key and add it to DIR/trust.json."""
    from provisioning.errors import ProvisionError  # noqa: PLC0415
    from provisioning.office import keygen  # noqa: PLC0415

    try:
        kid, path = keygen(args.dir, args.name)
    except (ProvisionError, OSError) as exc:
        return _fail(exc)
    print(
        say(
            f"签名密钥：{path}（编号 {kid}），只有本人可读",
            f"Signing key: {path} (id {kid}), readable by you only",
        )
    )
    trust_file = args.dir / "trust.json"
    print(
        say(
            f"信任列表：{trust_file}（放入系统镜像）",
            f"Trust store: {trust_file} (put it in the image)",
        )
    )
    return EXIT_OK


def run_revoke(args: argparse.Namespace) -> int:
    """Revoke a key in a trust store file."""
    from provisioning.errors import ProvisionError  # noqa: PLC0415
    from provisioning.office import revoke  # noqa: PLC0415

    try:
        store = revoke(args.trust_file, args.key_id)
    except (ProvisionError, OSError) as exc:
        return _fail(exc)
    print(
        say(
            f"已吊销 {args.key_id}；信任列表版本 {store.version}",
            f"Revoked {args.key_id}; trust store version {store.version}",
        )
    )
    return EXIT_OK


def run_enroll_read(args: argparse.Namespace) -> int:
    """Print the enrollment requests on a stick."""
    from provisioning.errors import ProvisionError  # noqa: PLC0415
    from provisioning.inspection import enrollments  # noqa: PLC0415

    problems: list[ProvisionError] = []
    try:
        stick = _stick(args.stick, folder=True)
        found = enrollments(stick, problems.append)
    except ProvisionError as exc:
        return _fail(exc)
    if args.json:
        print_json({"enrollments": found, "problems": [str(exc) for exc in problems]})
    else:
        if not found:
            print(say("U盘上没有登记请求", "No enrollment request on the stick"))
        for item in found:
            print(
                f"{item['box_id']}  {say('指纹', 'fingerprint')} {item['key_id']}  "
                f"{item['created']}  (qingka {item['version']}, serial {item['applied_serial']})"
            )
            print(f"    {stick / 'QINGKA' / item['file']}")
        for problem in problems:
            print_error(f"{problem.text(default_lang())[0]} [{problem.code}]")
    return EXIT_OK if found or not problems else EXIT_FAILED


def run_make(args: argparse.Namespace) -> int:
    """Write an unsigned bundle onto the stick."""
    from provisioning.errors import ProvisionError  # noqa: PLC0415
    from provisioning.office import make  # noqa: PLC0415

    try:
        made = make(args.config, _stick(args.out))
    except (ProvisionError, OSError) as exc:
        return _fail(exc)
    manifest = made.manifest
    until = f"{manifest.expires:%Y-%m-%d %H:%M}"
    print(
        say(
            f"已写入配置包：序号 {manifest.serial}，给 {manifest.targets[0]}，"
            f"{len(manifest.files)} 个文件，有效期至 {until}",
            f"Bundle written: serial {manifest.serial} for {manifest.targets[0]}, "
            f"{len(manifest.files)} files, valid until {until}",
        )
    )
    print(say("下一步：", "Next: ") + f"qingka provision sign --key KEY {made.stick}")
    return EXIT_OK


def run_sign(args: argparse.Namespace) -> int:
    """Sign the manifest on the stick."""
    from provisioning.errors import ProvisionError  # noqa: PLC0415
    from provisioning.office import sign_stick  # noqa: PLC0415

    try:
        signature = sign_stick(_stick(args.stick), args.key)
    except (ProvisionError, OSError) as exc:
        return _fail(exc)
    print(say(f"已签名，密钥 {signature.key_id}", f"Signed with key {signature.key_id}"))
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    """Check the stick the way a box does (without a box key)."""
    from provisioning.errors import ProvisionError, TrustStoreNotGiven  # noqa: PLC0415
    from provisioning.inspection import verify  # noqa: PLC0415

    try:
        stick = _stick(args.stick, folder=True)
        store = _trust(args)
        if store is None:
            raise TrustStoreNotGiven()
        result = verify(stick, store, args.box)
    except ProvisionError as exc:
        if args.json:
            print_json({"ok": False, "code": exc.code, "message": str(exc)})
        return _fail(exc)
    if args.json:
        print_json(result)
    else:
        print(
            say(
                f"验证通过：序号 {result['serial']}，签名密钥 {result['signed_by']}，"
                f"给 {result['targets']}，有效期至 {result['expires']}",
                f"Verified: serial {result['serial']}, signed by {result['signed_by']}, "
                f"for {result['targets']}, valid until {result['expires']}",
            )
        )
    return EXIT_OK


def run_inspect(args: argparse.Namespace) -> int:
    """Show what the stick holds; never a secret."""
    from provisioning.errors import ProvisionError  # noqa: PLC0415
    from provisioning.inspection import inspect  # noqa: PLC0415

    try:
        data = inspect(
            _stick(args.stick, folder=True), _trust(args), None if args.json else default_lang()
        )
    except ProvisionError as exc:
        return _fail(exc)
    if args.json:
        print_json(data)
    else:
        _print_tree(data, 0)
    return EXIT_FAILED if data["problems"] else EXIT_OK


def _print_tree(data: Any, depth: int) -> None:
    pad = "  " * depth
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict | list) and value:
                print(f"{pad}{key}:")
                _print_tree(value, depth + 1)
            else:
                print(f"{pad}{key}: {value}")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict | list):
                print(f"{pad}-")
                _print_tree(item, depth + 1)
            else:
                print(f"{pad}- {item}")


def _applier(args: argparse.Namespace) -> Any:
    from provisioning.apply import Applier  # noqa: PLC0415
    from provisioning.paths import Paths  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    paths = _paths(args)
    # Below --root (training, tests) the services of this machine read none of those files.
    return Applier(paths, restart_services=paths.etc_link == Paths().etc_link)


def _show(args: argparse.Namespace, outcome: Outcome) -> int:
    from provisioning.errors import RESTART_FAILED  # noqa: PLC0415

    what, action = outcome.words(default_lang())
    if args.json:
        print_json(outcome.summary())
    else:
        print(f"{what} [{outcome.code}]")
        print(action)
        if outcome.not_restarted:
            names = ", ".join(outcome.not_restarted)
            print(
                say(
                    f"因为使用了 --root，没有重启服务：{names}",
                    f"Services not restarted because of --root: {names}",
                )
            )
        for warning in outcome.warnings:
            print(say("注意：", "Warning: ") + warning)
        if outcome.box_id:
            print(
                say(
                    f"盒子 {outcome.box_id}，指纹 {outcome.key_id}",
                    f"Box {outcome.box_id}, fingerprint {outcome.key_id}",
                )
            )
    # Applied but a service still runs the old settings: a person must act (restart the box).
    return EXIT_OK if outcome.ok and outcome.code != RESTART_FAILED else EXIT_FAILED


def run_apply(args: argparse.Namespace) -> int:
    """Apply the stick mounted at STICK."""
    from provisioning.errors import ProvisionError  # noqa: PLC0415

    try:
        stick = _stick(args.stick)
    except ProvisionError as exc:
        if args.json:
            print_json({"result": "refused", "code": exc.code, "message": str(exc)})
        return _fail(exc)
    return _show(args, _applier(args).apply(stick))


def run_from_device(args: argparse.Namespace) -> int:
    """Mount DEVICE read-only, apply, report, unmount."""
    from provisioning.device import from_device  # noqa: PLC0415

    return _show(args, from_device(args.device, _applier(args)))


def run_identity(args: argparse.Namespace) -> int:
    """Show the box id and key fingerprint (made now if the box has none yet)."""
    from provisioning import identity  # noqa: PLC0415
    from provisioning.errors import ProvisionError  # noqa: PLC0415

    try:
        box = identity.load_or_create(_paths(args).keys_dir)
    except ProvisionError as exc:
        return _fail(exc)
    data = {"box_id": box.box_id, "key_id": box.key_id, "public_key": box.public_text}
    if args.json:
        print_json(data)
    else:
        print(say(f"盒子 {box.box_id}", f"Box {box.box_id}"))
        print(say(f"指纹 {box.key_id}", f"Fingerprint {box.key_id}"))
        print(say(f"公钥 {box.public_text}", f"Public key {box.public_text}"))
    return EXIT_OK
