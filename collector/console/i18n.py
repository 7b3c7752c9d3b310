"""The console's strings in Chinese (default) and English: one table, looked up by key.

A key missing from a language falls back to Chinese, then to the key itself, so a page never
breaks on a missing string; a test checks both languages have the same keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal

__all__ = ["LANGUAGES", "STRINGS", "Lang", "translator"]

Lang = Literal["zh", "en"]
LANGUAGES: Final[tuple[Lang, ...]] = ("zh", "en")

# key: (zh, en)
_TABLE: Final[dict[str, tuple[str, str]]] = {
    "app": ("CampusGuard 校园网络安全与节能平台", "CampusGuard campus console"),
    "nav.alerts": ("告警", "Alerts"),
    "nav.drills": ("应急演练", "Drills"),
    "nav.reports": ("报告", "Reports"),
    "nav.compliance": ("等保合规", "Compliance"),
    "nav.inventory": ("资产与设备状态", "Inventory"),
    "nav.audit": ("审计日志", "Audit log"),
    "nav.logout": ("退出登录", "Log out"),
    "lang.switch": ("English", "中文"),
    "role.admin": ("管理员", "administrator"),
    "role.officer": ("网络安全员", "security officer"),
    "role.viewer": ("只读用户", "viewer"),
    "login.title": ("登录", "Log in"),
    "login.user": ("用户名", "User name"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.bad": ("用户名或密码错误", "Wrong user name or password"),
    "login.locked": (
        "连续登录失败次数过多，账号已锁定，请于 {until} 后再试",
        "Too many failed logins: the account is locked until {until}",
    ),
    "login.expired": ("会话已超时，请重新登录", "Your session timed out; please log in again"),
    "login.out": ("已退出登录", "You are logged out"),
    "err.forbidden": ("无权执行此操作", "You are not allowed to do this"),
    "err.csrf": (
        "请求缺少有效的 CSRF 令牌，已拒绝",
        "The request has no valid CSRF token and was refused",
    ),
    "err.not_configured": (
        "此采集器未配置该功能（规则或告警未启用）",
        "This collector runs without this part (no rules or alerting configured)",
    ),
    "err.not_found": ("未找到", "Not found"),
    "alerts.title": ("告警列表", "Alerts"),
    "alerts.filter": ("筛选", "Filter"),
    "alerts.any": ("全部", "any"),
    "alerts.state": ("状态", "State"),
    "alerts.severity": ("级别", "Severity"),
    "alerts.site": ("学校", "Site"),
    "alerts.rule": ("规则", "Rule"),
    "alerts.drill": ("演练", "Drill"),
    "alerts.where": ("位置", "Where"),
    "alerts.fired": ("触发时间", "Fired"),
    "alerts.ack": ("确认", "Acknowledged"),
    "alerts.muted": ("已静默", "muted"),
    "alerts.none": ("没有符合条件的告警", "No alerts match"),
    "alerts.ack_button": ("确认告警", "Acknowledge"),
    "alerts.comment": ("备注", "Comment"),
    "alerts.silence_button": ("静默", "Silence"),
    "alerts.acked_by": ("{by} 于 {time} 确认", "by {by} at {time}"),
    "alerts.done_ack": ("已确认告警", "Alert acknowledged"),
    "alerts.not_firing": ("该告警已不在触发状态", "The alert is no longer firing"),
    "state.firing": ("触发中", "firing"),
    "state.resolved": ("已恢复", "resolved"),
    "state.acknowledged": ("已确认", "acknowledged"),
    "state.unacknowledged": ("未确认", "unacknowledged"),
    "state.running": ("进行中", "running"),
    "state.stopped": ("已结束", "stopped"),
    "silences.title": ("静默规则", "Silences"),
    "silences.matchers": ("匹配条件", "Matchers"),
    "silences.until": ("截止", "Until"),
    "silences.by": ("创建人", "By"),
    "silences.duration": ("时长", "Duration"),
    "silences.expire": ("立即结束", "Expire now"),
    "silences.none": ("没有静默规则", "No silences"),
    "silences.done": ("已创建静默规则", "Silence created"),
    "silences.expired": ("静默规则已结束", "Silence expired"),
    "drills.title": ("应急演练", "Emergency drills"),
    "drills.start": ("开始演练", "Start drill"),
    "drills.scenario": ("演练场景", "Scenario"),
    "drills.speed": ("加速倍数", "Speed"),
    "drills.room": ("房间（可选）", "Room (optional)"),
    "drills.stop": ("结束演练", "Stop drill"),
    "drills.started": ("开始时间", "Started"),
    "drills.by": ("发起人", "Started by"),
    "drills.none": ("尚无演练记录", "No drills yet"),
    "drills.acks": ("确认情况", "Acknowledgements"),
    "drills.alerts": ("演练告警", "Drill alerts"),
    "drills.timeline": ("时间线", "Timeline"),
    "drills.user": ("确认人", "Who"),
    "drills.channel": ("渠道", "Channel"),
    "drills.after": ("响应用时（秒）", "After (s)"),
    "drills.missing": ("未确认人员", "Not acknowledged by"),
    "drills.live": ("每 2 秒自动刷新", "Updates every 2 s"),
    "drills.open": ("查看", "Open"),
    "reports.title": ("报告", "Reports"),
    "reports.kind": ("报告类型", "Kind"),
    "reports.kind.safety": ("平安校园报告", "Safe campus"),
    "reports.kind.energy": ("节能校园报告", "Energy saving"),
    "reports.kind.bandwidth": ("带宽达标报告", "Bandwidth"),
    "reports.kind.compliance": ("等保 2.0 合规报告", "Graded protection"),
    "reports.kind.drill": ("演练报告", "Drill"),
    "reports.from": ("开始日期（含）", "From (inclusive)"),
    "reports.to": ("结束日期（不含）", "To (exclusive)"),
    "reports.format": ("格式", "Format"),
    "reports.lang": ("语言", "Language"),
    "reports.all_sites": ("全部学校", "every site"),
    "reports.generate": ("生成报告", "Generate"),
    "reports.files": ("已生成的报告", "Generated reports"),
    "reports.download": ("下载", "Download"),
    "reports.none": ("尚未生成报告", "No reports yet"),
    "reports.unavailable": (
        "报告模块尚未安装；可通过 API POST /api/v1/reports 生成",
        "The reports module is not installed; use POST /api/v1/reports",
    ),
    "reports.done": ("报告已生成", "Report generated"),
    "reports.failed": ("报告生成失败：{error}", "The report failed: {error}"),
    "compliance.title": ("等级保护合规状态", "Graded-protection compliance"),
    "compliance.pack": ("规则包", "Pack"),
    "compliance.refs": ("标准条款", "Clauses"),
    "compliance.status": ("状态", "Status"),
    "compliance.evidence": ("依据", "Evidence"),
    "compliance.pass": ("通过", "pass"),
    "compliance.fail": ("不通过", "fail"),
    "compliance.na": ("无法评估", "not assessable"),
    "compliance.series": ("{n} 个数据序列", "{n} series"),
    "compliance.firing": ("{n} 条告警触发中", "{n} alerts firing"),
    "compliance.no_data": ("尚无数据", "no data yet"),
    "compliance.summary": (
        "通过 {ok}，不通过 {fail}，无法评估 {na}",
        "{ok} pass, {fail} fail, {na} not assessable",
    ),
    "inventory.title": ("资产与设备状态", "Inventory and status"),
    "inventory.devices": ("网络设备", "Network devices"),
    "inventory.sensors": ("传感器", "Sensors"),
    "inventory.name": ("名称", "Name"),
    "inventory.role": ("角色", "Role"),
    "inventory.kind": ("类型", "Kind"),
    "inventory.address": ("地址", "Address"),
    "inventory.building": ("楼宇", "Building"),
    "inventory.room": ("房间", "Room"),
    "inventory.status": ("状态", "Status"),
    "inventory.last_seen": ("最后上报", "Last seen"),
    "inventory.up": ("在线", "up"),
    "inventory.down": ("离线", "down"),
    "inventory.unknown": ("无数据", "no data"),
    "inventory.none": ("未配置资产清单", "No inventory configured"),
    "audit.title": ("审计日志", "Audit log"),
    "audit.time": ("时间", "Time"),
    "audit.actor": ("操作人", "Who"),
    "audit.action": ("操作", "Action"),
    "audit.details": ("详情", "Details"),
    "audit.none": ("暂无审计记录", "No audit entries"),
    "common.yes": ("是", "yes"),
    "common.no": ("否", "no"),
    "common.submit": ("提交", "Submit"),
}

STRINGS: Final[dict[Lang, dict[str, str]]] = {
    "zh": {k: v[0] for k, v in _TABLE.items()},
    "en": {k: v[1] for k, v in _TABLE.items()},
}


def translator(lang: Lang) -> Callable[..., str]:
    """``t(key, **values)``: the string in ``lang`` with ``{name}`` fields filled."""
    table = STRINGS[lang]
    fallback = STRINGS["zh"]

    def t(key: str, **values: object) -> str:
        text = table.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t
