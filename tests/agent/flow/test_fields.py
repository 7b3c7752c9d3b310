"""The field dictionary: IANA IPFIX elements and NetFlow v9 types, as data."""

from __future__ import annotations

from agent.inputs.flow.compiled import ROLES
from agent.inputs.flow.fields import REVERSE_PEN, VARIABLE_LENGTH, FieldDictionary


def test_dictionary_loads_from_its_data_file() -> None:
    fields = FieldDictionary.load()
    assert len(fields) > 500
    assert fields.info(1).name == "octetDeltaCount" and fields.info(1).length == 8
    assert fields.info(27).data_type == "ipv6Address" and fields.info(27).length == 16
    assert fields.info(152).data_type == "dateTimeMilliseconds"
    assert fields.info(82).length == VARIABLE_LENGTH


def test_netflow9_names_and_fallback_to_ipfix() -> None:
    fields = FieldDictionary.load()
    assert fields.name(8, dialect="netflow9") == "IPV4_SRC_ADDR"
    assert fields.name(231, dialect="netflow9") == "NF_F_FWD_FLOW_DELTA_BYTES"
    assert fields.name(300, dialect="netflow9") == "observationDomainName"


def test_enterprise_and_unknown_fields() -> None:
    fields = FieldDictionary.load()
    assert fields.name(1, REVERSE_PEN) == "reverseOctetDeltaCount"
    assert fields.name(1, 5951) == "e5951f1"
    assert fields.name(32000) == "field32000"


def test_every_role_element_is_in_the_dictionary() -> None:
    fields = FieldDictionary.load()
    for ids in ROLES.values():
        for ident in ids:
            assert not fields.name(ident).startswith("field"), ident
