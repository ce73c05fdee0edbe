"""The kiosk app: the daemon's state in, taps out, and which screen shows.

The app is the link's listener: replies and events land on the board (on the UI thread), then
the shown screen refreshes. Taps become requests on the link's command thread, so the UI never
waits on the socket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition

from appliance.api.errors import ApiError, ApiUnavailable
from appliance.clock import clock
from kiosk_ui.board import Board, DeviceState
from kiosk_ui.catalog import LANGUAGES, tr
from kiosk_ui.layouts import load_layouts
from kiosk_ui.link import DaemonLink, Done, Failed, Listener
from kiosk_ui.pin_gate import PinGate
from kiosk_ui.provision_status import Shown
from kiosk_ui.provision_watch import ProvisionWatch
from kiosk_ui.root import KioskRoot
from kiosk_ui.screens.base import KioskScreen
from kiosk_ui.screens.device_pin import DevicePinScreen
from kiosk_ui.screens.history import HistoryScreen
from kiosk_ui.screens.home import HomeScreen
from kiosk_ui.screens.pin import PinScreen
from kiosk_ui.screens.progress import ProgressScreen
from kiosk_ui.screens.result import ResultScreen
from kiosk_ui.screens.technician import TechnicianScreen
from kiosk_ui.settings import KioskSettings
from kiosk_ui.views import ACT_CLEAR, ACT_PIN, ACT_PROGRESS

_log = logging.getLogger("qingka.kiosk")

TICK_S = 1.0
REFERENCE_LONG, REFERENCE_SHORT = 800.0, 480.0


class Link(Protocol):
    """What the app needs of its line to the daemon (a DaemonLink, or a stand-in in tests)."""

    def start(self) -> None:
        """Start talking to the daemon."""

    def stop(self) -> None:
        """Stop talking to the daemon."""

    def request(
        self, cmd: str, done: Done | None = None, failed: Failed | None = None, **args: Any
    ) -> None:
        """Run ``cmd`` in the background."""

    def refresh(self) -> None:
        """Read ``status`` again soon."""


LinkFactory = Callable[[Listener], Link]


def post_to_ui(callback: Callable[[], None]) -> None:
    """Run ``callback`` on the UI thread at the next frame (safe from any thread)."""
    Clock.schedule_once(lambda _dt: callback(), 0)


class KioskApp(App, Listener):
    """QingKa Box on its touchscreen."""

    lang = StringProperty("zh")
    scale = NumericProperty(1.0)
    portrait = BooleanProperty(False)
    online = BooleanProperty(False)  # the daemon answers
    ever_online = BooleanProperty(False)  # it answered once: "lost", not "connecting"
    revision = NumericProperty(0)
    # Provisioning (a USB stick being applied): the live apply, and a result not yet dismissed.
    provision_working = ObjectProperty(None, allownone=True)
    provision_result = ObjectProperty(None, allownone=True)

    def __init__(
        self, settings: KioskSettings, link_factory: LinkFactory | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.title = tr("app.title", settings.language)
        self.settings = settings
        self.lang = settings.language
        self.board = Board()
        self.link: Link = (link_factory or self._daemon_link)(self)
        self.pin_gates = {
            "technician": PinGate(settings.technician_pin, pin_hash=settings.technician_pin_hash)
        }
        if settings.operator_pin is not None or settings.operator_pin_hash is not None:
            self.pin_gates["operator"] = PinGate(
                settings.operator_pin, pin_hash=settings.operator_pin_hash
            )
        self.follow_url: str | None = None
        self._pending_clear: list[str] | None = None
        self._pending_device_pin: str | None = None
        self._tick_event: Any = None
        self.provision_watch: ProvisionWatch | None = None
        if settings.provision_status is not None:
            self.provision_watch = ProvisionWatch(
                settings.provision_status, self.on_provision, post_to_ui
            )

    def _daemon_link(self, listener: Listener) -> Link:
        return DaemonLink(self.settings.socket, listener, post_to_ui)

    # -- Kivy life cycle -------------------------------------------------------------------

    def build(self) -> KioskRoot:
        """Make the root widget with every screen."""
        load_layouts()
        root = KioskRoot(idle_s=self.settings.idle_blank_s)
        manager = root.ids.screens
        manager.transition = NoTransition()
        for screen in (
            HomeScreen(),
            ProgressScreen(),
            ResultScreen(),
            HistoryScreen(),
            TechnicianScreen(),
            PinScreen(),
            DevicePinScreen(),
        ):
            manager.add_widget(screen)
        root.bind(size=self._resized, blanked=self._blanked)
        self._resized(root, root.size)
        return root

    def on_start(self) -> None:
        """Connect to the daemon and start the once-a-second refresh."""
        self.link.start()
        if self.provision_watch is not None:
            self.provision_watch.start()
        self._tick_event = Clock.schedule_interval(self._tick, TICK_S)
        self.refresh()

    def on_stop(self) -> None:
        """Disconnect."""
        if self._tick_event is not None:
            self._tick_event.cancel()
        if self.provision_watch is not None:
            self.provision_watch.stop()
        self.link.stop()

    def _resized(self, root: KioskRoot, size: Any) -> None:
        width, height = size
        self.portrait = height > width
        self.scale = max(
            0.5, min(max(width, height) / REFERENCE_LONG, min(width, height) / REFERENCE_SHORT)
        )

    def _tick(self, _dt: float) -> None:
        root = self.root
        if root is not None:
            working = self.provision_working is not None
            root.check_idle(keep_awake=working or bool(self.board.running()))
            self.current_screen().refresh()
            self.show_provision()

    def _blanked(self, root: KioskRoot, blanked: bool) -> None:
        # The next person to touch the screen starts from home, not from someone's PIN entry.
        if blanked:
            self.go_home()

    # -- the daemon (Listener, on the UI thread) --------------------------------------------

    def on_connected(self, connected: bool) -> None:
        """Show or lift the "service unavailable" notice."""
        self.online = connected
        if connected:
            self.ever_online = True
        self.refresh()

    def on_status(self, status: dict[str, Any], sync: bool) -> None:
        """Take a fresh status."""
        self.board.apply_status(status, sync)
        self.refresh()

    def on_event(self, event: dict[str, Any]) -> None:
        """Take one event and follow a watched job to its result."""
        self.board.apply_event(event)
        kind = event.get("event")
        url = event.get("url")
        if kind == "device" and event.get("plugged") and self.root is not None:
            self.root.wake()
        if kind == "outcome" and url == self.follow_url:
            self._job_ended()
        self.refresh()

    def _job_ended(self) -> None:
        name = self.current_screen().name
        if name != "progress":
            return
        still = self.board.running()
        if still:
            # "Clear all": follow the next device still at it, then show the last result.
            self.follow_url = still[0].url
        else:
            self.go("result")

    # -- provisioning (on the UI thread) ---------------------------------------------------

    def on_provision(self, shown: Shown) -> None:
        """Take what the provisioning status file says now."""
        self.provision_working = shown.working
        if shown.working is not None:
            self.provision_result = None  # a new apply: the last one's result is old news
        if shown.result is not None:
            self.provision_result = shown.result
        if (shown.working or shown.result) is not None and self.root is not None:
            self.root.wake()  # the technician stands at the box
        self.show_provision()

    def show_provision(self) -> None:
        """Fill the provisioning overlays from the current state and language."""
        if self.root is None:
            return
        ids = self.root.ids
        ids.provision_working.show(self.provision_working, self.lang, clock().now())
        ids.provision_result.show(self.provision_result, self.lang)

    def dismiss_provision(self) -> None:
        """Close the provisioning result ("知道了")."""
        self.provision_result = None
        self.show_provision()

    # -- what the screens call -------------------------------------------------------------

    def current_screen(self) -> KioskScreen:
        """Return the screen shown now."""
        screen: KioskScreen = self.root.ids.screens.current_screen
        return screen

    def refresh(self) -> None:
        """Redraw the shown screen from the board."""
        self.revision += 1
        if self.root is not None:
            self.current_screen().refresh()
            self.show_provision()

    def go(self, name: str) -> None:
        """Show screen ``name``."""
        manager = self.root.ids.screens
        screen = manager.get_screen(name)
        screen.refresh()
        manager.current = name

    def go_home(self) -> None:
        """Show the home screen."""
        self.go("home")

    def followed(self) -> DeviceState | None:
        """Return the device whose job or result is shown."""
        if self.follow_url is not None and self.follow_url in self.board.devices:
            return self.board.devices[self.follow_url]
        running = self.board.running()
        present = self.board.present()
        return running[0] if running else (present[0] if present else None)

    def act(self, action: str, urls: list[str]) -> None:
        """Do what a device's button (or the big button) offers for ``urls``."""
        if action == ACT_CLEAR:
            self.press_clear(urls[0] if len(urls) == 1 else None, urls)
        elif action == ACT_PROGRESS and urls:
            self.follow_url = urls[0]
            self.go("progress")
        elif action == ACT_PIN and urls:
            self.open_device_pin(urls[0])

    def press_clear(self, url: str | None, among: list[str] | None = None) -> None:
        """Clear ``url`` (None: every device); a device already at it just shows its progress."""
        if url is not None:
            targets = [url]
        else:
            targets = among if among is not None else [d.url for d in self.board.present()]
        targets = [u for u in targets if u in self.board.devices]
        if not targets:
            return
        idle = [u for u in targets if not self.board.devices[u].running]
        if not idle:
            self.follow_url = targets[0]
            self.go("progress")
            return
        if "operator" in self.pin_gates:
            self._pending_clear = idle
            self.open_pin("operator")
            return
        self._start_clear(idle)

    def _start_clear(self, urls: list[str]) -> None:
        self.board.requested(urls)
        self.follow_url = urls[0]
        self.go("progress")
        for url in urls:
            # One request per device: the daemon refuses a second job per device, so a
            # double tap can never queue another clearing behind the running one.
            self.link.request(
                "clear",
                done=lambda _result: self.refresh(),
                failed=partial(self._clear_failed, url),
                device=url,
            )

    def _clear_failed(self, url: str, error: ApiError) -> None:
        if error.code == "A-409":
            return  # already running: its events are on their way
        _log.warning("clear %s refused: %s [%s]", url, error, error.code)
        self.board.request_failed([url])
        state = self.board.devices.get(url)
        if state is not None:
            unavailable = isinstance(error, ApiUnavailable)
            state.outcome = {
                "at": clock().stamp(),
                "kind": "retry-later" if unavailable else "needs-human",
                "code": error.code,
                "message_zh": error.message_zh,
                "message_en": error.message,
                "action_zh": tr("result.request_failed", "zh"),
                "action_en": tr("result.request_failed", "en"),
                "retry_at": None,  # the box did not take the request: nothing will run by itself
                "retry_helps": True,
            }
        if url == self.follow_url and self.current_screen().name == "progress":
            self.go("result")
        self.refresh()

    def retry(self) -> None:
        """Try the followed device again now."""
        if self.follow_url is not None:
            self.press_clear(self.follow_url)

    def open_result(self, url: str) -> None:
        """Show the last result of ``url``."""
        self.follow_url = url
        self.go("result")

    def open_history(self) -> None:
        """Show the history."""
        self.go("history")

    def open_technician(self) -> None:
        """Ask for the technician PIN, then show the service screen."""
        self.open_pin("technician")

    def open_device_pin(self, url: str, checked: bool = False) -> None:
        """Let a person enter ``url``'s device PIN, once past the guard PIN (``checked``: it is)."""
        if not checked:
            self._pending_device_pin = url
            self.open_pin("device")
            return
        screen = self.root.ids.screens.get_screen("device_pin")
        screen.open(url)
        self.go("device_pin")

    def gate_for(self, purpose: str) -> PinGate:
        """Return the gate a PIN pad of ``purpose`` checks against.

        The device PIN screen sits behind the technician PIN, or the operator PIN where the
        ``[kiosk] device_pin_by_operator`` setting lets the shop set it themselves.
        """
        if purpose == "device":
            by_operator = self.settings.device_pin_by_operator and "operator" in self.pin_gates
            return self.pin_gates["operator" if by_operator else "technician"]
        return self.pin_gates[purpose]

    def open_pin(self, purpose: str) -> None:
        """Show the PIN pad for ``purpose`` ("operator", "technician" or "device")."""
        screen = self.root.ids.screens.get_screen("pin")
        screen.open(purpose)
        self.go("pin")

    def pin_accepted(self, purpose: str) -> None:
        """Carry on with what the PIN guarded."""
        if purpose == "technician":
            self.go("technician")
        elif purpose == "device" and self._pending_device_pin is not None:
            url, self._pending_device_pin = self._pending_device_pin, None
            self.open_device_pin(url, checked=True)
        elif self._pending_clear:
            urls, self._pending_clear = self._pending_clear, None
            self._start_clear(urls)
        else:
            self.go_home()

    def set_language(self, lang: str) -> None:
        """Switch every screen to ``lang``."""
        if lang in LANGUAGES:
            self.lang = lang
            self.title = tr("app.title", lang)
            self.refresh()

    def toggle_language(self) -> None:
        """Switch between Chinese and English."""
        self.set_language("en" if self.lang == "zh" else "zh")
