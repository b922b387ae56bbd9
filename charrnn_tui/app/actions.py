"""Every key of the app, declared once: key, footer label, palette entry, when it is available.

`ACTIONS` is the one table (harlequin's `HARLEQUIN_ACTIONS` is the model). The app's
`BINDINGS` (and so the Footer), its `check_action` gating and the command palette
(`commands.py`) are all derived from it, in its order. A row with a `view` opens that
`ViewScreen` (and, pressed again in front of it, closes it: closing is always allowed).

Adding a view: write `views/<name>_view.py` (a `ViewScreen` subclass with a NAME) and add one
`view(...)` row here. Adding an action: one `Action` row and an `action_<name>` method on the
app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from textual.actions import parse
from textual.binding import Binding

from ..link.monitor import State
from .views.gradcheck_view import GradCheckView
from .views.hidden_view import HiddenView
from .views.influence_view import InfluenceView
from .views.loss_chart_view import LossChartView
from .views.neurons_view import NeuronsView
from .views.runs_view import RunsView
from .views.stepthrough_view import StepThroughView
from .views.surprisal_view import SurprisalView
from .views.view_screen import ViewScreen
from .views.yourtext_view import YourTextView

Availability = Callable[[State], bool | None]  # True: on; None: shown dimmed; False: hidden
ANY, IN_APP, ATTACHED = "any", "in-app", "attached"  # which runs a key is for (Action.runs)

LR_KEYS = Binding.Group("lr", compact=True)  # one footer entry per pair of keys
TEMPERATURE_KEYS = Binding.Group("temp", compact=True)
VIEW_KEYS = Binding.Group("views", compact=True)


def always(state: State) -> bool:
    return True


def while_paused(state: State) -> bool | None:
    """Keys that need the trainer to stand still: dimmed while it runs."""
    return True if state is not State.RUNNING else None


def while_running(state: State) -> bool | None:
    """Pause: hidden once paused (resume takes the key), dimmed when the run has finished."""
    return state is State.RUNNING or (None if state is State.FINISHED else False)


def while_resumable(state: State) -> bool:
    return state in (State.PAUSED, State.DIVERGED)


def while_steppable(state: State) -> bool | None:
    return True if state in (State.PAUSED, State.DIVERGED) else None


@dataclass(frozen=True)
class Action:
    """One key (or key pair) of the app: a binding, a footer entry and a palette entry."""

    id: str  # the binding id
    keys: str  # comma-separated Textual key names; "" for a palette-only entry
    action: str  # the Textual action run on the app, e.g. "scale_lr(2.0)"
    label: str  # footer text
    title: str = ""  # command palette entry ("": not in the palette)
    help: str = ""  # palette help, after the key names
    available: Availability = always
    view: type[ViewScreen] | None = None  # the full-screen view this key opens
    runs: str = ANY  # IN_APP: only for a run in this app; ATTACHED: only for an attached one
    group: Binding.Group | None = None
    key_display: str | None = None
    show: bool = True
    priority: bool = False
    call: tuple[str, tuple[object, ...]] = field(init=False)  # (name, parameters)

    def __post_init__(self) -> None:
        _, name, parameters = parse(self.action)
        object.__setattr__(self, "call", (name, parameters))

    @property
    def toggles_view(self) -> bool:
        """`view(name)` rows: pressed in front of their view, they close it."""
        return self.call[0] == "view"

    @property
    def key_names(self) -> str:
        """The keys as the palette's help names them: "p or space", "+", "ctrl+s"."""
        if self.key_display:
            return self.key_display
        return " or ".join(self.keys.split(","))

    @property
    def palette_help(self) -> str:
        return f"{self.key_names}: {self.help}" if self.help else self.key_names

    def offered(self, attached: bool) -> bool:
        """Whether the key is for this kind of run (this app's own, or an attached one)."""
        return self.runs == ANY or (self.runs == ATTACHED) == attached

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.label, key_display=self.key_display,
                       id=self.id, group=self.group, show=self.show, priority=self.priority)


def view(screen: type[ViewScreen], key: str, label: str, title: str, help: str,
         available: Availability = always) -> Action:
    """The row of a full-screen view: its key opens it, and closes it again."""
    return Action(f"view-{screen.NAME}", key, f"view('{screen.NAME}')", label, title, help,
                  available, screen, group=VIEW_KEYS)


ACTIONS: tuple[Action, ...] = (
    # first, so the footer shows how to leave even at 80 columns (it cuts from the right)
    Action("quit", "q", "quit", "Quit", runs=IN_APP),
    Action("detach", "q", "detach", "Detach", "Detach from the run",
           "it trains on; attach again any time", runs=ATTACHED),
    Action("pause", "p,space", "pause", "Pause", available=while_running),
    Action("resume", "p,space", "resume", "Resume", available=while_resumable),
    Action("toggle-pause", "", "toggle_pause", "", "Pause / resume training",
           key_display="p or space"),
    Action("sample", "s", "sample", "Sample", "Sample now",
           "from the current state, without disturbing training"),
    Action("step", "n", "step", "Step", "One training step", "while paused",
           available=while_steppable),
    Action("reset-hidden", "r", "reset_hidden", "Reset h", "Reset hidden state",
           "the next window starts from h = 0"),
    Action("reinit", "R", "reinit", "Re-init", "Re-initialise the model", "asks first",
           runs=IN_APP),
    Action("lr-up", "plus", "scale_lr(2.0)", "lr×2", "Learning rate ×2", key_display="+",
           group=LR_KEYS),
    Action("lr-down", "minus", "scale_lr(0.5)", "lr÷2", "Learning rate ÷2", key_display="-",
           group=LR_KEYS),
    Action("temperature-down", "t", "step_temperature(-1)", "temp−", "Temperature down",
           group=TEMPERATURE_KEYS),
    Action("temperature-up", "T", "step_temperature(1)", "temp+", "Temperature up",
           group=TEMPERATURE_KEYS),
    view(HiddenView, "h", "Hidden", "Hidden state view",
         "heatmap of h, saturated units, the last window's states"),
    view(SurprisalView, "u", "Surprisal", "Surprisal view",
         "the last window coloured by loss, top-k next characters"),
    # in front of its view, g checks again (escape closes it)
    Action("view-gradcheck", "g", "gradient_check", "Grad check", "Gradient check",
           "numerical vs analytic gradients (while paused)", while_paused, GradCheckView,
           group=VIEW_KEYS),
    view(StepThroughView, "w", "Step-through", "Step-through view",
         "one window per timestep; n steps (while paused)", while_paused),
    view(LossChartView, "l", "Loss chart", "Loss chart",
         "axes, wall time, log scale, smoothing, CSV export"),
    view(RunsView, "c", "Runs", "Compare runs",
         "every logged run in a table; overlay picked runs' loss curves"),
    view(NeuronsView, "x", "Neurons", "Neuron explorer",
         "a passage coloured by one unit; the units that track text features"),
    view(InfluenceView, "i", "Influence", "Influence view",
         "how much each earlier character moves a prediction (BPTT)"),
    view(YourTextView, "y", "Your text", "Your own text",
         "continue a prime, or score a text by surprisal"),
    Action("save", "ctrl+s", "save", "Save", "Save a checkpoint now"),
    Action("resume-picker", "o", "resume_picker", "Resume…", "Resume from a checkpoint",
           "pick from this corpus's checkpoints", runs=IN_APP),
    Action("hand-over", "D", "hand_over", "Detach run", "Detach the run from this app",
           "it trains on in a process of its own and this app attaches to it (asks first)",
           runs=IN_APP, show=False),  # the footer is full at 120 columns
    Action("end-run", "E", "end_run", "End run", "End the run",
           "it saves its final checkpoint and stops for good (asks first)", runs=ATTACHED),
    Action("quit-now", "ctrl+c", "quit", "Quit", show=False, priority=True),
    Action("leave-input", "escape", "leave_input", "Leave input", show=False),
)

BINDINGS: list[Binding] = [row.binding() for row in ACTIONS if row.keys]
PALETTE: tuple[Action, ...] = tuple(row for row in ACTIONS if row.title)
VIEWS: dict[str, type[ViewScreen]] = {row.view.NAME: row.view for row in ACTIONS if row.view}
# check_action's lookup: (action name, parameters) -> row; the first row of a call wins
BY_CALL: dict[tuple[str, tuple[object, ...]], Action] = {}
for _row in ACTIONS:
    BY_CALL.setdefault(_row.call, _row)


def availability(action: str, parameters: tuple[object, ...], state: State,
                 in_front: ViewScreen | None, attached: bool = False) -> bool | None:
    """What `check_action` answers for the app's `action(parameters)` in `state`, with the
    view `in_front` (None: the main screen or a dialog is in front), for a run in this app or
    an `attached` one."""
    row = BY_CALL.get((action, tuple(parameters)))
    if row is None:
        return True
    if not row.offered(attached):
        return False
    if row.toggles_view and isinstance(in_front, row.view):
        return True  # closing an open view needs nothing
    return row.available(state)
