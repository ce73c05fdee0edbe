"""Every word the kiosk shows, in Chinese and English: one table, looked up by key.

Widgets never hold text of their own: a ``.kv`` rule writes ``tr("home.clear", app.lang)`` so the
label follows a language switch, and view models format the sentences that carry data. What the
daemon says (outcome messages, step labels) comes from the daemon's own bilingual messages.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

# key: (Chinese, English). Placeholders use str.format names.
STRINGS: dict[str, tuple[str, str]] = {
    "app.title": ("清卡盒", "QingKa Box"),
    "header.history": ("历史记录", "History"),
    "header.technician": ("维护", "Service"),
    "header.language": ("English", "中文"),
    "conn.down": ("服务暂不可用，正在重新连接", "Service unavailable, reconnecting"),
    "conn.down_hint": ("请稍候，无需重启本机", "Please wait, there is no need to restart the box"),
    "conn.connecting": ("正在连接清卡服务…", "Connecting to the clearing service…"),
    "home.clear": ("一键清卡", "Clear now"),
    "home.clear_all": ("全部清卡", "Clear all"),
    "home.clear_one": ("清卡", "Clear"),
    "home.running": ("正在清卡 {percent}%", "Clearing {percent}%"),
    "home.running_all": ("正在清卡…", "Clearing…"),
    "home.view_progress": ("查看进度", "View progress"),
    "home.details": ("详情", "Details"),
    "home.plug_title": ("请插入税控设备", "Plug in the tax device"),
    "home.plug_body": (
        "把税务UKey或税控盘插入本机的USB口，本机会自动识别。",
        "Plug the tax UKey or tax disk into a USB port of this box. It is recognised by itself.",
    ),
    "home.plug_absent": (
        "已配置的设备 {number} 未连接",
        "The configured device {number} is not connected",
    ),
    "card.taxpayer_id": ("税号 {id}", "Tax ID {id}"),
    "card.device": ("{family}  {number}", "{family}  {number}"),
    "card.lock_days": ("锁定日期 {date}（还有 {days} 天）", "Locks on {date} ({days} days left)"),
    "card.lock_today": ("锁定日期 {date}（今天）", "Locks on {date} (today)"),
    "card.locked_since": ("已于 {date} 锁定，请尽快清卡", "Locked since {date}: clear it now"),
    "card.last_cleared": ("上次清卡 {when}", "Last cleared {when}"),
    "card.never_cleared": ("本机尚无清卡记录", "Not cleared on this box yet"),
    "card.reading": ("正在读取设备…", "Reading the device…"),
    "card.unknown_device": ("税控设备", "Tax device"),
    "card.unreadable": ("无法读取设备（{code}）", "The device cannot be read ({code})"),
    "card.zombie": (
        "多月未抄报，需到税务机关办理",
        "Months behind: a visit to the tax office is needed",
    ),
    "card.training": ("培训测试盘，不会清卡", "Training device: never cleared"),
    "family.税务UKey": ("税务UKey", "Tax UKey"),
    "family.税控盘": ("税控盘", "Tax control disk"),
    "family.金税盘": ("金税盘", "Golden tax disk"),
    "stage.cleared": ("已清卡", "Cleared"),
    "stage.needs": ("需要清卡", "Needs clearing"),
    "stage.locked": ("已锁定", "Locked"),
    "stage.attention": ("需要处理", "Needs attention"),
    "stage.reading": ("读取中", "Reading"),
    "stage.running": ("清卡中", "Clearing"),
    "progress.title": ("正在清卡", "Clearing"),
    "progress.starting": ("正在开始…", "Starting…"),
    "progress.elapsed": ("已用时 {time}", "Elapsed {time}"),
    "progress.keep_plugged": ("清卡时请勿拔出设备", "Keep the device plugged in"),
    "progress.home": ("返回首页", "Home"),
    "progress.idle": ("现在没有正在进行的清卡", "No clearing is running now"),
    "result.title": ("清卡结果", "Result"),
    "result.done": ("清卡成功", "Cleared"),
    "result.already": ("本期已清卡", "Already cleared"),
    "result.not_due": ("还没到清卡时间", "Not time to clear yet"),
    "result.needs_human": ("未能完成清卡", "Clearing did not finish"),
    "result.retry_later": ("暂时无法清卡", "Cannot clear right now"),
    "result.next_lock": ("下次锁定日期", "Next lock date"),
    "result.what": ("发生了什么", "What happened"),
    "result.todo": ("请您这样做", "What to do"),
    "result.code": ("代码 {code}", "Code {code}"),
    "result.auto_retry": ("本机会在 {when} 自动再试", "The box tries again by itself at {when}"),
    "result.due": ("{date} 起可以清卡", "Clearing opens on {date}"),
    "result.retry": ("现在重试", "Try again now"),
    "result.ok": ("完成", "Done"),
    "result.request_failed": (
        "请稍后再试；如一直不行，请联系技术支持",
        "Try again in a moment; if it keeps failing, call support",
    ),
    "result.none": ("还没有清卡结果", "No result yet"),
    "history.title": ("历史记录", "History"),
    "history.period": ("所属期", "Period"),
    "history.outcome": ("结果", "Outcome"),
    "history.when": ("时间", "When"),
    "history.lock": ("锁定日期", "Lock date"),
    "history.empty": ("还没有清卡记录", "No clearing recorded yet"),
    "history.loading": ("正在读取…", "Loading…"),
    "history.no_period": ("—", "—"),
    "outcome.done": ("成功", "Cleared"),
    "outcome.already-cleared": ("已清卡", "Already cleared"),
    "outcome.not-due": ("未到时间", "Not due"),
    "outcome.needs-human": ("需要处理", "Needs a person"),
    "outcome.retry-later": ("稍后重试", "Retry later"),
    "pin.operator": ("请输入操作密码", "Enter the operator PIN"),
    "pin.technician": ("请输入维护密码", "Enter the service PIN"),
    "pin.wrong": ("密码不对，还可以试 {tries} 次", "Wrong PIN, {tries} tries left"),
    "pin.locked": (
        "错误次数太多，请 {minutes}:{seconds:02d} 后再试",
        "Too many wrong tries: try again in {minutes}:{seconds:02d}",
    ),
    "pin.ok": ("确定", "OK"),
    "pin.delete": ("删除", "Delete"),
    "pin.cancel": ("取消", "Cancel"),
    "tech.title": ("维护", "Service"),
    "tech.overview": ("概况", "Overview"),
    "tech.backups": ("备份", "Backups"),
    "tech.logs": ("日志", "Logs"),
    "tech.language": ("语言", "Language"),
    "tech.version": ("软件版本 {version}，Python {python}", "Software {version}, Python {python}"),
    "tech.kiosk": ("界面 Kivy {kivy}", "Kiosk Kivy {kivy}"),
    "tech.system": ("系统 {system}", "System {system}"),
    "tech.hostname": ("主机名 {name}", "Host name {name}"),
    "tech.addresses": ("IP 地址 {addresses}", "IP addresses {addresses}"),
    "tech.no_address": ("无网络地址", "no network address"),
    "tech.daemon_ok": (
        "清卡服务：运行中（已运行 {uptime}）",
        "Clearing service: running (up {uptime})",
    ),
    "tech.daemon_down": ("清卡服务：连接不上", "Clearing service: unreachable"),
    "tech.bureau_ok": ("税务局 {host}：可连接（{ms} 毫秒）", "Bureau {host}: reachable ({ms} ms)"),
    "tech.bureau_down": (
        "税务局 {host}：连不上（{error}）",
        "Bureau {host}: unreachable ({error})",
    ),
    "tech.bureau_none": ("税务局：未配置地址", "Bureau: no address configured"),
    "tech.broker_none": ("运维平台（MQTT）：未配置", "Fleet broker (MQTT): not configured"),
    "tech.broker_ok": ("运维平台（MQTT）：已连接", "Fleet broker (MQTT): connected"),
    "tech.broker_down": ("运维平台（MQTT）：连不上", "Fleet broker (MQTT): unreachable"),
    "tech.export": ("导出备份到U盘", "Export backups to USB stick"),
    "tech.export_to": ("导出目录 {path}", "Export folder {path}"),
    "tech.export_done": ("已导出到 {path}", "Exported to {path}"),
    "tech.export_failed": ("导出失败：{message}（{code}）", "Export failed: {message} ({code})"),
    "tech.no_usb": ("未检测到U盘：{path} 不存在", "No USB stick: {path} does not exist"),
    "tech.exporting": ("正在导出…", "Exporting…"),
    "tech.backups_empty": ("暂无备份", "No backups yet"),
    "tech.backup_row": (
        "{device}  {period}  {files} 个文件  {size}  {exported}",
        "{device}  {period}  {files} files  {size}  {exported}",
    ),
    "tech.exported": ("已导出", "exported"),
    "tech.not_exported": ("未导出", "not exported"),
    "tech.logs_empty": ("暂无日志", "No log lines"),
    "tech.loading": ("正在读取…", "Loading…"),
    "tech.failed": ("读取失败：{message}（{code}）", "Could not read: {message} ({code})"),
    "tech.lang_zh": ("中文", "中文"),
    "tech.lang_en": ("English", "English"),
    "tech.lang_hint": ("界面语言", "Language of the screens"),
    "common.back": ("返回", "Back"),
    "common.request_failed": ("操作未完成：{message}（{code}）", "Not done: {message} ({code})"),
    "duration.hm": ("{hours} 小时 {minutes} 分", "{hours} h {minutes} min"),
    "duration.ms": ("{minutes} 分 {seconds} 秒", "{minutes} min {seconds} s"),
}


def tr(key: str, lang: str, **values: Any) -> str:
    """Return the text of ``key`` in ``lang`` with ``values`` filled in."""
    zh, en = STRINGS[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def tr_or(key: str, lang: str, fallback: str) -> str:
    """Return the text of ``key`` in ``lang``, or ``fallback`` for a key not in the table."""
    return tr(key, lang) if key in STRINGS else fallback


def pick(lang: str, zh: str, en: str) -> str:
    """Return the daemon's text in ``lang`` (its Chinese when the English is missing)."""
    return en if lang == "en" and en else zh
