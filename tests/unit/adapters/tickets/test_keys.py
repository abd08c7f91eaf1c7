"""The ticket key set: loading, validation, rotation, the embedded key file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from eltiketi_adapters.tickets import (
    KEY_FILE_NAME,
    TicketKeyError,
    TicketKeySet,
    generate_key_set,
    rotate_key_file,
    rotate_key_set,
)


def test_generated_set_has_one_private_ed25519_key_with_a_short_kid() -> None:
    data = json.loads(generate_key_set())

    [key] = data["keys"]
    assert key["kty"] == "OKP"
    assert key["crv"] == "Ed25519"
    assert key["alg"] == "EdDSA"
    assert key["use"] == "sig"
    assert "d" in key
    assert len(key["kid"]) == 8


def test_json_round_trip_keeps_order_and_ids() -> None:
    rotated = TicketKeySet.generate().rotate().rotate()

    again = TicketKeySet.from_json(rotated.to_json())

    assert again.kids == rotated.kids
    assert again.current_kid == rotated.current_kid == rotated.kids[0]


def test_rotation_puts_a_new_current_key_first_and_strips_retired_private_parts() -> None:
    original = TicketKeySet.generate()

    rotated = json.loads(rotate_key_set(original.to_json()))

    first, retired = rotated["keys"]
    assert first["kid"] != original.current_kid
    assert "d" in first
    assert retired["kid"] == original.current_kid
    assert "d" not in retired
    assert retired["x"] == json.loads(original.to_json())["keys"][0]["x"]


def test_public_jwks_lists_every_key_without_private_members() -> None:
    keys = TicketKeySet.generate().rotate().rotate()

    jwks = keys.public_jwks()

    assert [k["kid"] for k in jwks["keys"]] == list(keys.kids)
    for key in jwks["keys"]:
        assert set(key) <= {"kty", "crv", "x", "kid", "use", "alg"}
        assert "d" not in key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"nokeys": []}', "must be a JWK set"),
        ('{"keys": []}', "at least one key"),
        ('{"keys": [42]}', "not a JSON object"),
        ('{"keys": [{"kty": "RSA", "n": "x", "e": "AQAB", "kid": "a"}]}', "Ed25519 OKP"),
        (
            '{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "short", "kid": "a"}]}',
            "cannot be read",
        ),
    ],
)
def test_unusable_key_sets_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(TicketKeyError, match=message):
        TicketKeySet.from_json(text)


def _first_key(keys: TicketKeySet) -> dict[str, str]:
    key: dict[str, str] = json.loads(keys.to_json())["keys"][0]
    return key


def test_a_key_without_kid_is_refused() -> None:
    key = _first_key(TicketKeySet.generate())
    del key["kid"]

    with pytest.raises(TicketKeyError, match="kid"):
        TicketKeySet.from_json(json.dumps({"keys": [key]}))


def test_duplicate_kids_are_refused() -> None:
    key = _first_key(TicketKeySet.generate())

    with pytest.raises(TicketKeyError, match="duplicate"):
        TicketKeySet.from_json(json.dumps({"keys": [key, key]}))


def test_a_public_only_current_key_is_refused() -> None:
    key = _first_key(TicketKeySet.generate())
    del key["d"]

    with pytest.raises(TicketKeyError, match="cannot sign"):
        TicketKeySet.from_json(json.dumps({"keys": [key]}))


def test_a_key_meant_for_another_algorithm_is_refused() -> None:
    key = _first_key(TicketKeySet.generate())
    key["alg"] = "ES256"

    with pytest.raises(TicketKeyError, match="ES256"):
        TicketKeySet.from_json(json.dumps({"keys": [key]}))


def test_errors_never_echo_private_key_material() -> None:
    key = _first_key(TicketKeySet.generate())
    key["x"] = "tooshort"

    with pytest.raises(TicketKeyError) as caught:
        TicketKeySet.from_json(json.dumps({"keys": [key]}))

    assert key["d"] not in str(caught.value)


def test_repr_shows_ids_only() -> None:
    keys = TicketKeySet.generate()

    assert _first_key(keys)["d"] not in repr(keys)
    assert keys.current_kid in repr(keys)


def test_embedded_key_file_is_created_once_owner_only_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    first = TicketKeySet.load_or_create(data_dir)
    second = TicketKeySet.load_or_create(data_dir)

    path = data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.kids == second.kids
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE_NAME]


def test_rotating_the_key_file_keeps_the_old_key_for_verification(tmp_path: Path) -> None:
    before = TicketKeySet.load_or_create(tmp_path)

    after = rotate_key_file(tmp_path)

    assert after.kids[1:] == before.kids
    assert TicketKeySet.load_or_create(tmp_path).kids == after.kids
    assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == [KEY_FILE_NAME]


def test_a_private_key_whose_public_part_does_not_match_is_refused() -> None:
    """Otherwise the JWKS would publish a key under which no ticket ever verifies."""
    key = _first_key(TicketKeySet.generate())
    key["x"] = _first_key(TicketKeySet.generate())["x"]

    with pytest.raises(TicketKeyError, match="does not match"):
        TicketKeySet.from_json(json.dumps({"keys": [key]}))


def test_processes_starting_together_agree_on_one_key_set(tmp_path: Path) -> None:
    """Creation is write-aside + hard link: the first writer wins, everyone reads it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        sets = list(pool.map(lambda _: TicketKeySet.load_or_create(tmp_path), range(16)))

    assert len({keys.kids for keys in sets}) == 1
    assert sorted(os.listdir(tmp_path)) == [KEY_FILE_NAME]
