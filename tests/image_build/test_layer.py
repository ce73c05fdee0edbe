"""The rpi-image-gen layer and the boot test install the same system."""

from __future__ import annotations

from tests.image_build.rootfs import IMAGE_BUILD, packages

LAYER = IMAGE_BUILD / "rpi-image-gen" / "layer" / "qingka-box.yaml"


def _layer_packages() -> list[str]:
    names: list[str] = []
    inside = False
    for line in LAYER.read_text(encoding="utf-8").splitlines():
        if line.strip() == "packages:":
            inside = True
        elif inside and line.strip().startswith("- "):
            names.append(line.strip()[2:].strip())
        elif inside:
            break
    return names


def test_the_layer_lists_the_packages_of_the_boot_test() -> None:
    assert _layer_packages() == packages()


def test_the_layer_runs_the_install_script_of_the_boot_test() -> None:
    text = LAYER.read_text(encoding="utf-8")
    assert '"$IGconf_qingka_src/image-build/install.sh" --root "$1"' in text
    assert "--data slot-shared" in text
