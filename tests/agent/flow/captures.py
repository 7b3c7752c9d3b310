"""The vendor captures as exporter groups: each group's files are fed in order (templates
before data) as one exporter, as the README of the captures says."""

from __future__ import annotations

from pathlib import Path

CAPTURES = Path(__file__).resolve().parents[2] / "data" / "flows" / "vendor-captures"

GROUPS: dict[str, tuple[str, ...]] = {
    "ipfix": ("ipfix.dat",),
    "ipfix_barracuda": ("ipfix_test_barracuda_tpl.dat", "ipfix_test_barracuda_data256.dat"),
    "ipfix_barracuda_uniflow": (
        "ipfix_test_barracuda_extended_uniflow_tpl256.dat",
        "ipfix_test_barracuda_extended_uniflow_data256.dat",
    ),
    "ipfix_ixia": ("ipfix_test_ixia_tpldata256.dat", "ipfix_test_ixia_tpldata271.dat"),
    "ipfix_juniper_mx240": (
        "ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat",
        "ipfix_test_juniper_mx240_junos151r6s3_data512.dat",
    ),
    "ipfix_mikrotik": (
        "ipfix_test_mikrotik_tpl.dat",
        "ipfix_test_mikrotik_data258.dat",
        "ipfix_test_mikrotik_data259.dat",
    ),
    "ipfix_netscaler": ("ipfix_test_netscaler_tpl.dat", "ipfix_test_netscaler_data.dat"),
    "ipfix_nokia_bras": ("ipfix_test_nokia_bras_tpl.dat", "ipfix_test_nokia_bras_data256.dat"),
    "ipfix_openbsd_pflow": (
        "ipfix_test_openbsd_pflow_tpl.dat",
        "ipfix_test_openbsd_pflow_data.dat",
    ),
    "ipfix_procera": ("ipfix_test_procera_tpl52935.dat", "ipfix_test_procera_data52935.dat"),
    "ipfix_viptela": ("ipfix_test_viptela_tpl257.dat", "ipfix_test_viptela_data257.dat"),
    "ipfix_vmware_vds": (
        "ipfix_test_vmware_vds_tpl.dat",
        "ipfix_test_vmware_vds_data264.dat",
        "ipfix_test_vmware_vds_data266.dat",
        "ipfix_test_vmware_vds_data266_267.dat",
    ),
    "ipfix_yaf": (
        "ipfix_test_yaf_tpls_option_tpl.dat",
        "ipfix_test_yaf_tpl45841.dat",
        "ipfix_test_yaf_data45841.dat",
        "ipfix_test_yaf_data45873.dat",
        "ipfix_test_yaf_data53248.dat",
    ),
    "netflow5": ("netflow5.dat",),
    "netflow5_juniper_mx80": ("netflow5_test_juniper_mx80.dat",),
    "netflow5_mikrotik": ("netflow5_test_microtik.dat",),
    "netflow9_cisco_asr1001x": ("netflow9_cisco_asr1001x_tpl259.dat",),
    "netflow9_0length_fields": ("netflow9_test_0length_fields_tpl_data.dat",),
    "netflow9_cisco_1941k9": ("netflow9_test_cisco_1941K9.dat",),
    "netflow9_cisco_aci": (
        "netflow9_test_cisco_aci_tpl256-258.dat",
        "netflow9_test_cisco_aci_data256.dat",
    ),
    "netflow9_cisco_asa_1": (
        "netflow9_test_cisco_asa_1_tpl.dat",
        "netflow9_test_cisco_asa_1_data.dat",
    ),
    "netflow9_cisco_asa_2": (
        "netflow9_test_cisco_asa_2_tpl_26x.dat",
        "netflow9_test_cisco_asa_2_tpl_27x.dat",
        "netflow9_test_cisco_asa_2_data.dat",
    ),
    "netflow9_cisco_asr9k": (
        "netflow9_test_cisco_asr9k_opttpl256.dat",
        "netflow9_test_cisco_asr9k_opttpl257.dat",
        "netflow9_test_cisco_asr9k_opttpl334.dat",
        "netflow9_test_cisco_asr9k_tpl260.dat",
        "netflow9_test_cisco_asr9k_tpl266.dat",
        "netflow9_test_cisco_asr9k_data256.dat",
        "netflow9_test_cisco_asr9k_data260.dat",
    ),
    "netflow9_cisco_nbar": (
        "netflow9_test_cisco_nbar_opttpl260.dat",
        "netflow9_test_cisco_nbar_tpl262.dat",
        "netflow9_test_cisco_nbar_data262.dat",
    ),
    "netflow9_cisco_wlc": (
        "netflow9_test_cisco_wlc_tpl.dat",
        "netflow9_test_cisco_wlc_8510_tpl_262.dat",
        "netflow9_test_cisco_wlc_data261.dat",
    ),
    "netflow9_layer2segmentid": (
        "netflow9_test_field_layer2segmentid_tpl.dat",
        "netflow9_test_field_layer2segmentid_data.dat",
    ),
    "netflow9_fortigate_521": (
        "netflow9_test_fortigate_fortios_521_tpl.dat",
        "netflow9_test_fortigate_fortios_521_data256.dat",
        "netflow9_test_fortigate_fortios_521_data257.dat",
    ),
    "netflow9_fortigate_542": (
        "netflow9_test_fortigate_fortios_542_appid_tpl258-269.dat",
        "netflow9_test_fortigate_fortios_542_appid_data258_262.dat",
    ),
    "netflow9_h3c": ("netflow9_test_h3c_tpl3281.dat", "netflow9_test_h3c_data3281.dat"),
    "netflow9_h3c_varstring": (
        "netflow9_test_h3c_netstream_varstring_tpl3281.dat",
        "netflow9_test_h3c_netstream_varstring_data3281.dat",
    ),
    "netflow9_huawei": (
        "netflow9_test_huawei_netstream_tpl.dat",
        "netflow9_test_huawei_netstream_data.dat",
    ),
    "netflow9_iptnetflow": ("netflow9_test_iptnetflow_reduced_size_encoding_tpldata260.dat",),
    "netflow9_juniper_srx": ("netflow9_test_juniper_srx_tplopt.dat",),
    "netflow9_macaddr": ("netflow9_test_macaddr_tpl.dat", "netflow9_test_macaddr_data.dat"),
    "netflow9_nprobe": (
        "netflow9_test_nprobe_tpl.dat",
        "netflow9_test_nprobe_data.dat",
        "netflow9_test_nprobe_dpi.dat",
    ),
    "netflow9_paloalto_81": (
        "netflow9_test_paloalto_81_tpl256-263.dat",
        "netflow9_test_paloalto_81_data257_1flowset_in_large_zerofilled_packet.dat",
    ),
    "netflow9_paloalto_panos": (
        "netflow9_test_paloalto_panos_tpl.dat",
        "netflow9_test_paloalto_panos_data.dat",
    ),
    "netflow9_softflowd": ("netflow9_test_softflowd_tpl_data.dat",),
    "netflow9_streamcore": (
        "netflow9_test_streamcore_tpl_data256.dat",
        "netflow9_test_streamcore_tpl_data260.dat",
    ),
    "netflow9_ubnt_edgerouter": (
        "netflow9_test_ubnt_edgerouter_tpl.dat",
        "netflow9_test_ubnt_edgerouter_data1024.dat",
        "netflow9_test_ubnt_edgerouter_data1025.dat",
    ),
    "netflow9_unknown_tpl": ("netflow9_test_unknown_tpl266_292_data.dat",),
    "netflow9_valid01": ("netflow9_test_valid01.dat",),
    # Named "invalid" upstream because logstash's parser rejects its options data set; its
    # header count is the number of data records, the convention softflowd 1.1.0 uses, and
    # every set in it is well formed, so we decode it (as goflow2 does).
    "netflow9_invalid01_decodable": ("netflow9_test_invalid01.dat",),
}

INVALID: tuple[str, ...] = (
    "netflow5_test_invalid01.dat",
    "netflow5_test_invalid02.dat",
)


def payloads(files: tuple[str, ...]) -> list[bytes]:
    """The datagrams of a group's files, in order."""
    from agent.inputs.flow.capture_files import split_payloads

    out: list[bytes] = []
    for name in files:
        out += split_payloads((CAPTURES / name).read_bytes())
    return out
