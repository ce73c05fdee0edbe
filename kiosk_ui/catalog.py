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
    "home.cleared": ("本期已清卡", "Cleared this month"),
    "home.all_cleared": ("全部已清卡", "All cleared"),
    "home.see_cards": ("请看上面的说明", "See each device's note"),
    "home.enter_pin": ("输入设备密码", "Enter the device PIN"),
    "home.pin_locked": ("证书已锁定，请到税务机关解锁", "Certificate locked: tax office"),
    "home.training": ("培训测试盘，不清卡", "Training device: never cleared"),
    "home.zombie": ("需到税务机关办理", "Tax office visit needed"),
    "home.needs_person": ("需要人工处理", "A person must act first"),
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
    "card.last_attempt": ("{when} 尝试清卡：{what}", "Tried {when}: {what}"),
    "card.last_attempt_undated": ("上次尝试清卡：{what}", "Last try: {what}"),
    "card.auto_retry": ("{when} 自动再试", "Tries again by itself {when}"),
    "card.never_cleared": ("本机尚无清卡记录", "Not cleared on this box yet"),
    "card.reading": ("正在读取设备…", "Reading the device…"),
    "card.unknown_device": ("税控设备", "Tax device"),
    "card.unreadable": ("无法读取设备", "The device cannot be read"),
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
    "result.got_it": ("知道了", "Got it"),
    "result.enter_pin": ("输入设备密码", "Enter the device PIN"),
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
    "pin.device_title": ("设置设备密码", "Set the device PIN"),
    "pin.technician_first": ("请先输入维护密码", "First enter the service PIN"),
    "pin.operator_first": ("请先输入操作密码", "First enter the operator PIN"),
    "pin.wrong": ("密码不对，还可以试 {tries} 次", "Wrong PIN, {tries} tries left"),
    "pin.locked": (
        "错误次数太多，请 {minutes}:{seconds:02d} 后再试",
        "Too many wrong tries: try again in {minutes}:{seconds:02d}",
    ),
    "pin.checking": ("正在核对…", "Checking…"),
    "pin.check_failed": (
        "暂时无法核对密码，请再试一次",
        "The PIN could not be checked just now: try again",
    ),
    "pin.ok": ("确定", "OK"),
    "pin.delete": ("删除", "Delete"),
    "pin.cancel": ("取消", "Cancel"),
    "devpin.title": ("设备密码", "Device PIN"),
    "devpin.prompt": ("请输入税控设备的密码", "Enter the tax device's PIN"),
    "devpin.state_ok": ("设备密码已核对无误", "The device PIN is verified"),
    "devpin.state_rejected": (
        "设备密码不对，清卡已停下",
        "The device PIN is wrong: clearing stopped",
    ),
    "devpin.state_unknown": ("设备密码尚未核对", "The device PIN has not been checked yet"),
    "devpin.state_locked": (
        "密码错误次数过多，证书已锁定；请携带设备到税务机关解锁",
        "Too many wrong PINs: the certificate is locked; take the device to the tax office",
    ),
    "devpin.tries": ("设备还可以试 {tries} 次", "The device allows {tries} more tries"),
    "devpin.tries_one": ("设备只剩 1 次机会", "The device allows one more try"),
    "devpin.last_try": (
        "注意：只剩最后 1 次机会，再错一次证书就会锁定，只能到税务机关解锁。请核对无误后再提交。",
        "Careful: one try is left. One more wrong PIN locks the certificate, and only the tax "
        "office can unlock it. Check the PIN before you send it.",
    ),
    "devpin.hint": (
        "本机只用新密码核对一次，不会自己重试",
        "The box checks a new PIN once and never retries it by itself",
    ),
    "devpin.digits_only": (
        "这里只能输入数字。含字母的设备密码，请由技术人员在配置文件中设置"
        "（[pin] file 或设备的 pin_file）。",
        "Only digits can be entered here. A device PIN with letters is set by a technician in the "
        "configuration file ([pin] file, or the device's pin_file).",
    ),
    "devpin.send": ("保存并核对", "Save and check"),
    "devpin.send_last": ("确认提交", "Send it"),
    "devpin.sending": ("正在保存并核对…", "Saving and checking…"),
    "devpin.verified": (
        "密码正确，已保存。现在可以清卡了。",
        "The PIN is right and saved. Clearing can go ahead.",
    ),
    "devpin.rejected": (
        "密码不对，请核对后重新输入",
        "The PIN is wrong: check it and enter it again",
    ),
    "devpin.rejected_tries": (
        "密码不对。设备还可以试 {tries} 次，请核对后重新输入",
        "The PIN is wrong. The device allows {tries} more tries: check it and enter it again",
    ),
    "devpin.stored": (
        "已保存。设备插好且空闲时，本机会用它核对一次",
        "Saved. The box checks it once when the device is plugged in and idle",
    ),
    "devpin.busy": (
        "设备正忙（正在清卡或读取），请稍后再提交",
        "The device is busy (clearing or being read): send it again in a moment",
    ),
    "devpin.empty": ("请先输入密码", "Enter the PIN first"),
    "tech.devices": ("设备密码", "Device PIN"),
    "tech.no_devices": ("没有已连接的设备", "No device is connected"),
    "tech.device_pin_row": ("{device}：{state}", "{device}: {state}"),
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
    "tech.broker_published": ("{line}，上次上报 {when}", "{line}, last published {when}"),
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
    "log.warning": ("警告", "warning"),
    "log.error": ("错误", "error"),
    "log.key.kind": ("结果", "outcome"),
    "log.key.code": ("代码", "code"),
    "log.key.device_no": ("设备", "device"),
    "log.key.period": ("所属期", "period"),
    "log.key.step": ("步骤", "step"),
    "log.key.new_lock_date": ("锁定日期", "lock date"),
    "log.key.socket": ("接口", "socket"),
    "log.key.url": ("地址", "address"),
    "prov.working": ("正在配置…", "Configuring…"),
    "prov.working_hint": (
        "请不要拔出U盘，也不要关机。配置完成后，这里会显示结果。",
        "Do not remove the USB stick or switch the box off. The result shows here when it is done.",
    ),
    "prov.box": ("本机编号 {box_id}", "Box ID {box_id}"),
    "prov.serial": ("配置包序号 {serial}", "Bundle serial {serial}"),
    "prov.title": ("U盘配置", "USB stick provisioning"),
    "prov.applied": ("配置完成", "Configured"),
    "prov.enrolled": ("已写入登记信息", "Enrollment request written"),
    "prov.refused": ("配置包未被接受", "The bundle was refused"),
    "prov.failed": ("配置没有完成", "Provisioning did not finish"),
    "prov.report_written": ("配置报告已写入U盘", "The report is on the USB stick"),
    "prov.report_missing": (
        "配置报告没能写入U盘",
        "The report could not be written to the USB stick",
    ),
    "common.back": ("返回", "Back"),
    "common.request_failed": ("操作未完成：{message}（{code}）", "Not done: {message} ({code})"),
    "day.today": ("今天", "today"),
    "day.yesterday": ("昨天", "yesterday"),
    "day.tomorrow": ("明天", "tomorrow"),
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
