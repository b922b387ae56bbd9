"""The keys that steer a run and open its views, as CharRNNApp's actions.

`RunKeys` turns each key of `actions.ACTIONS` into a command sent over the app's link (pause,
resume, step, sample, reset, the learning-rate and temperature keys through the main screen's
checked edits, save), opens and closes the full-screen views (asking the run for what the view
in front needs), and leaves: q ends this app's own run (saved) or detaches from an attached
one, which trains on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from charrnn_tui.cli.exit_status import Exit
from charrnn_tui.link.monitor import State
from charrnn_tui.link.protocol import Pause, ResetHidden, Resume, SampleNow, SaveNow, Step

from . import actions
from .messages import CheckAbandoned, ProbeRequest
from .views.gradcheck_view import GradCheckView
from .views.view_screen import ViewScreen

if TYPE_CHECKING:
    from .app import CharRNNApp

MIN_KEY_TEMPERATURE = 0.1  # below this, `t` halves instead of stepping by 0.1


class RunKeys:
    """Mixed into CharRNNApp: the actions of its keys."""

    # -- views ---------------------------------------------------------------------------

    def _view_in_front(self: CharRNNApp) -> ViewScreen | None:
        return self.screen if isinstance(self.screen, ViewScreen) else None

    def _open(self: CharRNNApp, view: ViewScreen) -> None:
        """Put `view` in front: over the main screen, or in place of another view."""
        if self._view_in_front() is not None:
            self.switch_screen(view)
        else:
            self.push_screen(view)

    def action_view(self: CharRNNApp, name: str) -> None:
        """Open the view `name`, or close it if it is in front (another view is replaced)."""
        current = self._view_in_front()
        if current is not None and current.NAME == name:
            self.action_close_view()
        else:
            self._open(actions.VIEWS[name](self.link.info.vocab))

    def action_close_view(self: CharRNNApp) -> None:
        if self._view_in_front() is not None:
            self.pop_screen()
            self.views_changed()

    def views_changed(self: CharRNNApp) -> None:
        """A view came to the front or went: ask the run for what it needs, redraw."""
        view = self._view_in_front()
        self.link.watch(view.NEEDS if view is not None else frozenset())
        self._shown_version = 0
        self.refresh_bindings()

    def action_gradient_check(self: CharRNNApp) -> None:
        """Open the gradient-check view (or check again in it); the run computes it."""
        view = self.screen
        if isinstance(view, GradCheckView):
            if view.request and not view.results:
                self.link.cancel_grad_check(view.request)
            view.running()
        else:
            view = GradCheckView(self.link.info.vocab)  # it shows "checking" as it mounts
            self._open(view)
        view.request = self.link.grad_check()

    def on_probe_request(self: CharRNNApp, message: ProbeRequest) -> None:
        request = self.link.probe(message.query)
        self._probes[request] = message.reply_to
        message.reply_to.sent(request)

    def on_check_abandoned(self: CharRNNApp, message: CheckAbandoned) -> None:
        self.link.cancel_grad_check(message.request)

    def _gradcheck_views(self: CharRNNApp) -> list[GradCheckView]:
        return [s for s in self.screen_stack if isinstance(s, GradCheckView)]

    # -- training keys -------------------------------------------------------------------

    def _show_state_now(self: CharRNNApp, state: State) -> None:
        """Show a state at once, before the run confirms it with a snapshot (within a step)."""
        self.state = state
        self.refresh_bindings()
        snap = self.link.latest
        if snap is not None:
            self.main_screen.status.show(snap, state)
            if (view := self._view_in_front()) is not None:
                view.status.show(snap, state)

    def action_pause(self: CharRNNApp) -> None:
        self.link.send(Pause())
        self._show_state_now(State.PAUSED)

    def action_resume(self: CharRNNApp) -> None:
        self.link.send(Resume())
        self._show_state_now(State.RUNNING)

    def action_toggle_pause(self: CharRNNApp) -> None:
        if self.state is State.RUNNING:
            self.action_pause()
        elif self.state in (State.PAUSED, State.DIVERGED):
            self.action_resume()

    def action_step(self: CharRNNApp) -> None:
        self.link.send(Step())

    def action_sample(self: CharRNNApp) -> None:
        self.link.send(SampleNow())

    def action_reset_hidden(self: CharRNNApp) -> None:
        self.link.send(ResetHidden())

    def action_scale_lr(self: CharRNNApp, factor: float) -> None:
        self.main_screen.apply_setting("learning_rate", self.config.learning_rate * factor)

    def action_step_temperature(self: CharRNNApp, direction: int) -> None:
        t = self.config.temperature
        if direction < 0:
            new = t / 2 if t <= MIN_KEY_TEMPERATURE + 1e-9 else t - 0.1
        else:
            new = t + 0.1
        self.main_screen.apply_setting("temperature", float(f"{new:.4g}"))

    def action_save(self: CharRNNApp) -> None:
        self.link.send(SaveNow())

    def action_leave_input(self: CharRNNApp) -> None:
        self.screen.set_focus(None)

    def action_quit(self: CharRNNApp) -> None:  # also Ctrl+C and ENDING_SIGNALS
        if self.attached:
            self.action_detach()
            return
        self.link.close()  # the worker saves the final checkpoint as it returns
        self.exit(self._exit_code)

    def action_detach(self: CharRNNApp) -> None:
        """Leave an attached run: it trains on."""
        self.link.close()
        self.exit(Exit.OK)
