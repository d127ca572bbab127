"""Named, checkpointed build steps, in the shape of FINN's build_dataflow.

Each step takes the BuildContext, may replace `ctx.model` (a qonnx ModelWrapper) and returns a
StepOutcome. After a step that produced a graph, the graph is saved as
`intermediate_models/<step>.onnx`; `--from STEP` resumes from the checkpoint of the step before,
once the folder's state (flow/pipeline/state.py) says the steps before were made from this
build's inputs.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import Callable

from brevitas_models.config import HGConfig

from ..boards import Board


class BuildError(RuntimeError):
    """A build that cannot go on; the message says what is at fault and what to do."""


@dataclass
class StepOutcome:
    status: str                      # "done" | "skipped" | "failed"
    reason: str = ""
    info: dict = field(default_factory=dict)
    # what the user must see although the step is done (printed, and in the report)
    warnings: list = field(default_factory=list)


@dataclass
class BuildContext:
    cfg: HGConfig | None             # None for a user's QONNX or module (source.py)
    board: Board
    out_dir: Path
    weights: str                     # where the weights came from, for the report
    inputs: object = None            # Inputs (flow/pipeline/inputs.py): what the steps read
    model: object | None = None      # the current graph: qonnx ModelWrapper, then HwGraph
    torch_model: object | None = None
    target_fps: float | None = None
    console: object | None = None    # rich Console, for steps that show progress
    results: dict = field(default_factory=dict)   # steps' top-level report fields
    sim: str = "auto"                # simulate_rtl: "auto" (within budget) | "yes" | "no"
    synth: str = "auto"              # synthesize: "auto" (within budget) | "yes" | "no"
    backend: str = "rtl"             # what the bitstream is built from: "rtl" | "hls"
    name: str = ""                   # the network's name (the config's, or the file's)
    source_qonnx: Path | None = None  # the user's QONNX (their file or their module's export)
    # accept float-rounding differences between the hardware and the user's source
    # (counted in the report, which then says nothing is bit-exact to the source)
    accept_rounding: bool = False

    def __post_init__(self):
        self.name = self.name or (self.cfg.name if self.cfg is not None else "")

    @property
    def intermediate_dir(self) -> Path:
        return self.out_dir / "intermediate_models"


def progress(ctx: BuildContext, description: str, total: int):
    """A transient rich progress bar for a long step (nothing when there is no console)."""
    from rich.progress import BarColumn
    from rich.progress import MofNCompleteColumn
    from rich.progress import Progress
    from rich.progress import TimeElapsedColumn

    bar = Progress("    " + description, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=ctx.console, transient=True, disable=ctx.console is None)
    task = bar.add_task(description, total=total)
    return bar, lambda n=1: bar.advance(task, n)


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[BuildContext], StepOutcome]
    saves_graph: bool = True
    doc: str = ""
    graph: str = "finn"              # what its checkpoint holds: "finn" (ONNX) or "hw" (HwGraph)
    artifacts: tuple[str, ...] = ()  # files/folders (globs) it writes besides its checkpoint
    inputs: tuple[str, ...] = ()     # the build inputs it reads itself (flow/pipeline/inputs.py)
    # False for a check that writes nothing later steps read (check_fit): it runs again in
    # every build, and its inputs are not those of the steps after it
    feeds_later: bool = True
    all_inputs: tuple[str, ...] = () # its inputs and those of the steps whose output it reads


def chain_inputs(steps: list[Step]) -> list[Step]:
    """The steps with `all_inputs` filled in: a step's output depends on its own inputs and
    on the inputs of every earlier step that feeds later ones."""
    out, upstream = [], []
    for s in steps:
        mine = list(dict.fromkeys(upstream + list(s.inputs)))
        out.append(replace(s, all_inputs=tuple(mine)))
        if s.feeds_later:
            upstream = mine
    return out


class BuildInterrupted(KeyboardInterrupt):
    """The build was told to stop (SIGINT, SIGTERM, SIGHUP): flow/build.py raises it from its
    signal handler, so that the step's tools are killed and the folder is left honest."""


def select_steps(steps: list[Step], start: str | None, stop: str | None) -> list[Step]:
    names = [s.name for s in steps]
    for opt, v in (("--from", start), ("--until", stop)):
        if v is not None and v not in names:
            raise BuildError(f"{opt} {v}: no such step; steps are: {', '.join(names)}")
    i = names.index(start) if start else 0
    j = names.index(stop) + 1 if stop else len(steps)
    if i >= j:
        raise BuildError(f"--from {start} comes after --until {stop}")
    return steps[i:j]


def step_outputs(out_dir: Path, step: Step) -> list[Path]:
    """What `step` wrote in `out_dir`: its checkpoint and its artifacts."""
    paths = [Path(out_dir) / "intermediate_models" / f"{step.name}.onnx",
             Path(out_dir) / "logs" / f"{step.name}.traceback.txt"]
    for pattern in step.artifacts:
        paths += sorted(Path(out_dir).glob(pattern))
    return paths


def resume_graph(ctx: BuildContext, steps: list[Step], first: Step) -> None:
    """Load the checkpoint written by the last graph-producing step before `first`."""
    from qonnx.core.modelwrapper import ModelWrapper

    before = steps[: [s.name for s in steps].index(first.name)]
    for s in reversed(before):
        if s.saves_graph:
            path = ctx.intermediate_dir / f"{s.name}.onnx"
            if not path.is_file():
                raise BuildError(f"--from {first.name}: checkpoint '{path}' of step '{s.name}' "
                                 "is missing; run the build without --from first")
            try:
                if s.graph == "hw":
                    from ..hwgraph import HwGraph

                    ctx.model = HwGraph.load(path)
                else:
                    ctx.model = ModelWrapper(str(path))
            except Exception as e:  # noqa: BLE001 - a damaged file: say which
                raise BuildError(f"--from {first.name}: checkpoint '{path}' of step "
                                 f"'{s.name}' cannot be read ({type(e).__name__}: {e}); "
                                 f"resume from '{s.name}'") from None
            return


@dataclass
class BuildPlan:
    """What a build will do, decided before it changes anything in the folder."""
    state: object                    # the folder's BuildState
    kept: list[Step]                 # steps before --from, made from this build's inputs
    forget: list[Step]               # steps whose outputs and records go first
    selected: list[Step]             # steps to run, in order


@dataclass
class BuildRun:
    """What a build did: the folder's state after it, the steps it kept from an earlier
    build (--from), and whether it was stopped."""
    state: object
    kept: list[Step]
    interrupted: str = ""


def plan_build(ctx: BuildContext, steps: list[Step], start: str | None,
               stop: str | None) -> BuildPlan:
    """The steps from `start` (default: the first) to `stop` (default: the last). The steps
    before `start` are kept only if the folder's state says each ran from the inputs this
    build gives it (else BuildError, before anything changes); a check that feeds nothing
    later (check_fit) runs again. Every other step is forgotten first, including those
    after `stop`, whose outputs would be stale."""
    from .state import BuildState

    select_steps(steps, start, stop)
    names = [s.name for s in steps]
    i = names.index(start) if start else 0
    j = names.index(stop) + 1 if stop else len(steps)
    state = BuildState.load(ctx.out_dir)
    kept = [s for s in steps[:i] if s.feeds_later]
    again = [s for s in steps[:i] if not s.feeds_later]
    if start:
        state.check_resume(kept, ctx.inputs, start)
    if kept:
        resume_graph(ctx, steps, steps[i])      # a damaged checkpoint: refused here too
    return BuildPlan(state, kept, again + steps[i:], again + steps[i:j])


def run_build(ctx: BuildContext, plan: BuildPlan, console) -> BuildRun:
    """Run the plan's steps in order, stopping at the first failure; every step records its
    inputs, record and report sections in the folder's state as it finishes."""
    from rich.markup import escape

    from .state import remove_temporaries

    remove_temporaries(ctx.out_dir)
    ctx.results = plan.state.results(plan.kept)
    plan.state.forget(plan.forget)
    selected, state = plan.selected, plan.state
    run = BuildRun(state, plan.kept)
    for k, step in enumerate(selected, 1):
        console.print(f"[bold cyan][{k}/{len(selected)}][/] {step.name}: {step.doc}")
        before = dict(ctx.results)
        t0 = time.perf_counter()
        try:
            outcome = step.run(ctx)
        except BuildError as e:
            outcome = StepOutcome("failed", str(e))
        except KeyboardInterrupt as e:
            run.interrupted = str(e) or "interrupted"
            outcome = StepOutcome("failed", f"{run.interrupted}: the build was stopped")
        except Exception as e:  # noqa: BLE001 - report, never leave a half build looking done
            (ctx.out_dir / "logs").mkdir(parents=True, exist_ok=True)
            log = ctx.out_dir / "logs" / f"{step.name}.traceback.txt"
            log.write_text(traceback.format_exc())
            outcome = StepOutcome("failed", f"{type(e).__name__}: {e} (traceback in {log})")
        seconds = time.perf_counter() - t0
        if outcome.status == "done" and step.saves_graph and ctx.model is not None:
            ctx.intermediate_dir.mkdir(parents=True, exist_ok=True)
            ctx.model.save(str(ctx.intermediate_dir / f"{step.name}.onnx"))
        rec = {"name": step.name, "status": outcome.status, "reason": outcome.reason,
               "seconds": round(seconds, 2), **outcome.info,
               **({"warnings": list(outcome.warnings)} if outcome.warnings else {})}
        wrote = {k: v for k, v in ctx.results.items() if k not in before or before[k] is not v}
        state.record(step, ctx.inputs, rec, wrote if outcome.status != "failed" else {})
        color = {"done": "green", "skipped": "yellow", "failed": "red"}[outcome.status]
        msg = f"    [{color}]{outcome.status}[/] in {seconds:.1f} s"
        if outcome.reason:
            msg += f": {escape(outcome.reason)}"   # reasons quote logs, not markup
        console.print(msg)
        for w in outcome.warnings:
            console.print(f"    [bold yellow]warning:[/] {escape(w)}")
        if outcome.status == "failed":
            break
    return run
