"""Object collision: particles drift on a grid; remember where each colour pair last met.

Method doc, section 11, generalised to a grid of G cells a side, P particles and C colours.

Dynamics (one frame per step): positions are continuous in (0, G-1)^2 and the cell of a
particle is its rounded position. Each particle has a velocity per axis drawn from
N(0, 1) * speed; every frame, while position + velocity would leave the open box (0, G-1) on
an axis, that axis's velocity is redrawn; then the particle moves and keeps its velocity.
Afterwards each particle recolours uniformly at random with probability recolour_prob.
Frame 0 is the initial state. (Keeping the velocity between frames is what reproduces the
spec's median of ~54k tokens on long sequences: measured 59k-75k on 250k-500k frames;
redrawing it every frame would give ~15k.)

Collision: two particles in the same cell. For every ordered colour pair (colour of the
lower-indexed particle, colour of the higher) we keep the cell and frame of its latest
collision, and we remember the pair of the most recent collision.

Tokens, per frame (frame_len = 3P + 2):
    per particle: row, G + col, 2G + colour;   then the question: 2G + C + c1, 2G + C + c2
With probability question_prob the question is the most recent collision's pair, otherwise
two uniform colours. With G=16, C=5 this is exactly: row, col+16, colour+32, question+37.

Label (on the frame's last token only): 1 + quadrant of the asked pair's latest collision,
quadrant = 2*[row >= G/2] + [col >= G/2]; 0 if that pair never collided (not scored, target -1).
Chance error is about 75%.

How far back the answer lies, in tokens ((question frame - collision frame) * frame_len) over
scored questions, measured with answer_distances on seeds 0-7 x 20,000 frames / seeds 0-3 x
250,000 frames (the distribution keeps a long tail, so it grows with sequence length):
    DEFAULT (G=16, P=2, C=5, 8 tokens/frame):   median 11,280 / 75,236   80th pct 39,117 / 344,366
    SCALED  (G=4,  P=2, C=2,  8 tokens/frame):  median  1,048 /  1,480   80th pct  4,144 /   6,104
    (the SCALED setting before 2026-11-26, G=6, P=4, C=2, 14 tokens/frame: median 518 / 658, 80th pct
    1,946 / 2,744; a 4-layer d_model 128 model learned it far more slowly)
"""
import json
from dataclasses import asdict, dataclass

import numpy as np

MAX_PARTICLES = 16      # a loaded sequence may have at most this many particles
MAX_GRID = 64
MAX_COLOURS = 16
MAX_FRAMES = 200_000    # a loaded sequence may have at most this many frames


def _check(ok, message):
    if not ok:
        raise ValueError(message)


@dataclass(frozen=True)
class CollisionConfig:
    grid: int = 16              # G: cells per side
    particles: int = 2          # P
    colours: int = 5            # C
    question_prob: float = 0.4  # chance that the question is the most recent collision's pair
    recolour_prob: float = 0.05 # per particle per frame
    speed: float = 0.5          # velocity per axis ~ N(0, 1) * speed

    def __post_init__(self):
        _check(2 <= self.grid <= MAX_GRID, f"grid must be in 2..{MAX_GRID}, got {self.grid}")
        _check(2 <= self.particles <= MAX_PARTICLES,
               f"particles must be in 2..{MAX_PARTICLES}, got {self.particles}")
        _check(1 <= self.colours <= MAX_COLOURS, f"colours must be in 1..{MAX_COLOURS}, got {self.colours}")
        _check(0.0 <= self.question_prob <= 1.0, f"question_prob must be in [0, 1], got {self.question_prob}")
        _check(0.0 <= self.recolour_prob <= 1.0, f"recolour_prob must be in [0, 1], got {self.recolour_prob}")
        _check(self.speed > 0, f"speed must be positive, got {self.speed}")

    @property
    def frame_len(self):
        return 3 * self.particles + 2


DEFAULT = CollisionConfig()
# Small enough for a 4-layer model on a CPU: answers a few hundred to a few thousand tokens back.
SCALED = CollisionConfig(grid=4, particles=2, colours=2)


def vocab_size(config):
    """Rows 0..G-1, cols G..2G-1, colours 2G..2G+C-1, question colours 2G+C..2G+2C-1."""
    return 2 * config.grid + 2 * config.colours


def quadrant(config, row, col):
    """0..3 = 2*[row in lower half] + [col in right half] (works on ints or arrays)."""
    half = config.grid / 2
    return 2 * (np.asarray(row) >= half).astype(np.int64) + (np.asarray(col) >= half).astype(np.int64)


@dataclass
class CollisionSequence:
    """One generated (or loaded) sequence: tokens and targets plus per-frame metadata."""
    config: CollisionConfig
    tokens: np.ndarray          # (F * frame_len,) int64
    targets: np.ndarray         # (F * frame_len,) int64: -1, or label 1..4 on scored last tokens
    positions: np.ndarray       # (F, P, 2) int64 cells (row, col)
    colours: np.ndarray         # (F, P) int64
    collisions: np.ndarray      # (F,) bool: some two particles share a cell
    questions: np.ndarray       # (F, 2) int64 colour pair asked
    labels: np.ndarray          # (F,) int64 in 0..4 (0 = pair never collided, not scored)
    answer_frames: np.ndarray   # (F,) int64: frame of the answering collision, -1 if not scored
    seed: int | None = None

    @property
    def n_frames(self):
        return len(self.labels)

    @property
    def frame_len(self):
        return self.config.frame_len


# -----------------------------------------------------------------------------
# generation

def simulate(config, n_frames, rng):
    """Run the particle dynamics; returns cells (F, P, 2) and colours (F, P), both int64."""
    P, hi = config.particles, config.grid - 1
    pos = rng.uniform(0.0, hi, size=(P, 2))
    vel = rng.standard_normal((P, 2)) * config.speed
    colour = rng.integers(0, config.colours, size=P)
    cells = np.empty((n_frames, P, 2), dtype=np.int64)
    colours = np.empty((n_frames, P), dtype=np.int64)
    for t in range(n_frames):
        if t > 0:
            out = (pos + vel <= 0) | (pos + vel >= hi)
            while out.any():  # redraw only the axes that would leave the box
                vel[out] = rng.standard_normal(int(out.sum())) * config.speed
                out = (pos + vel <= 0) | (pos + vel >= hi)
            pos = pos + vel
            flip = rng.random(P) < config.recolour_prob
            colour = np.where(flip, rng.integers(0, config.colours, size=P), colour)
        cells[t] = np.floor(pos + 0.5)
        colours[t] = colour
    return cells, colours


def collision_events(config, positions, colours):
    """All collisions in frame order: (frame, colour_a, colour_b, row, col) int64 arrays.

    Within a frame, pairs come in particle order (0,1), (0,2), ..., (1,2), ...; the last one
    listed is the most recent, and the latest per colour pair wins.
    """
    P = positions.shape[1]
    pairs = [(i, j) for i in range(P) for j in range(i + 1, P)]
    same = np.stack([(positions[:, i] == positions[:, j]).all(-1) for i, j in pairs], axis=1)
    frame, k = np.nonzero(same)  # row-major: sorted by frame, then by pair
    i = np.array([pairs[x][0] for x in k], dtype=np.int64)
    j = np.array([pairs[x][1] for x in k], dtype=np.int64)
    return dict(frame=frame.astype(np.int64), a=colours[frame, i], b=colours[frame, j],
                row=positions[frame, i, 0], col=positions[frame, i, 1])


def _last_at_or_before(event_frames, frames):
    """Index of the last event with frame <= each of frames (-1 where none)."""
    return np.searchsorted(event_frames, frames, side="right") - 1


def recent_pairs(events, n_frames):
    """(F, 2) colour pair of the most recent collision at or before each frame, -1 if none."""
    idx = _last_at_or_before(events["frame"], np.arange(n_frames))
    pairs = np.stack([events["a"], events["b"]], axis=1)
    out = np.full((n_frames, 2), -1, dtype=np.int64)
    out[idx >= 0] = pairs[idx[idx >= 0]]
    return out


def answer(config, events, questions):
    """Labels (F,) in 0..4 and answer frames (F,) (-1 if unscored) for the asked pairs."""
    n = len(questions)
    labels = np.zeros(n, dtype=np.int64)
    answer_frames = np.full(n, -1, dtype=np.int64)
    ev_key = events["a"] * config.colours + events["b"]
    q_key = questions[:, 0] * config.colours + questions[:, 1]
    for key in np.unique(q_key):
        ev = np.nonzero(ev_key == key)[0]
        if len(ev) == 0:
            continue
        asked = np.nonzero(q_key == key)[0]
        idx = _last_at_or_before(events["frame"][ev], asked)
        hit = idx >= 0
        e = ev[idx[hit]]
        labels[asked[hit]] = 1 + quadrant(config, events["row"][e], events["col"][e])
        answer_frames[asked[hit]] = events["frame"][e]
    return labels, answer_frames


def encode(config, positions, colours, questions, labels):
    """Flat tokens and targets (both (F * frame_len,) int64) from per-frame metadata."""
    G, C = config.grid, config.colours
    n, P = colours.shape
    per_particle = np.stack([positions[..., 0], G + positions[..., 1], 2 * G + colours], axis=-1)
    frames = np.concatenate([per_particle.reshape(n, 3 * P), 2 * G + C + questions], axis=1)
    targets = np.full(frames.shape, -1, dtype=np.int64)
    targets[:, -1] = np.where(labels > 0, labels, -1)
    return frames.reshape(-1).astype(np.int64), targets.reshape(-1)


def collision_marks(seq, questions=True):
    """Targets with a collision mark added to every frame: on the last particle's colour token (the first token
    that has seen every particle's cell and colour), 0 for no collision, else 1 + the collision's quadrant.
    A training aid, never scored (docs/method.md 17.5); the question labels are kept, or dropped (questions=False)."""
    cfg = seq.config
    events = collision_events(cfg, seq.positions, seq.colours)
    marks = np.zeros(seq.n_frames, dtype=np.int64)
    marks[events["frame"]] = 1 + quadrant(cfg, events["row"], events["col"])  # the frame's last pair wins
    targets = seq.targets.copy().reshape(seq.n_frames, cfg.frame_len)
    targets[:, 3 * cfg.particles - 1] = marks
    if not questions:
        targets[:, -1] = -1
    return targets.reshape(-1)


def _assemble(config, positions, colours, questions, seed=None):
    events = collision_events(config, positions, colours)
    labels, answer_frames = answer(config, events, questions)
    tokens, targets = encode(config, positions, colours, questions, labels)
    collided = np.zeros(len(questions), dtype=bool)
    collided[events["frame"]] = True
    return CollisionSequence(config, tokens, targets, positions, colours, collided,
                             questions, labels, answer_frames, seed)


def generate(config, n_frames, seed):
    """A seeded sequence of n_frames frames; the same seed gives the same sequence."""
    _check(n_frames >= 1, f"n_frames must be at least 1, got {n_frames}")
    rng = np.random.default_rng(seed)
    positions, colours = simulate(config, n_frames, rng)
    recent = recent_pairs(collision_events(config, positions, colours), n_frames)
    ask_recent = (rng.random(n_frames) < config.question_prob) & (recent[:, 0] >= 0)
    uniform = rng.integers(0, config.colours, size=(n_frames, 2))
    questions = np.where(ask_recent[:, None], recent, uniform).astype(np.int64)
    return _assemble(config, positions, colours, questions, seed)


def answer_distances(seq):
    """Tokens from each scored question back to its answering collision (frame-aligned)."""
    scored = np.nonzero(seq.answer_frames >= 0)[0]
    return (scored - seq.answer_frames[scored]) * seq.frame_len


# -----------------------------------------------------------------------------
# JSON (for the viewer: download a sample, upload one back)

def to_json(seq):
    """A JSON string with the config, per-frame metadata, tokens and targets."""
    return json.dumps(dict(
        task="collision", config=asdict(seq.config), seed=seq.seed,
        positions=seq.positions.tolist(), colours=seq.colours.tolist(),
        questions=seq.questions.tolist(), collisions=seq.collisions.astype(int).tolist(),
        labels=seq.labels.tolist(), answer_frames=seq.answer_frames.tolist(),
        tokens=seq.tokens.tolist(), targets=seq.targets.tolist(),
    ))


def from_json(text):
    """Load and validate a sequence; derived fields are recomputed and, if present, checked.

    Raises ValueError with a message naming the problem.
    """
    try:
        d = json.loads(text) if isinstance(text, (str, bytes, bytearray)) else text
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON: {e}") from None
    _check(isinstance(d, dict), "expected a JSON object with fields config, positions, colours, questions")
    missing = [k for k in ("config", "positions", "colours", "questions") if k not in d]
    _check(not missing, f"missing required field(s): {', '.join(missing)}")
    if d.get("task", "collision") != "collision":
        raise ValueError(f"task must be 'collision', got {d['task']!r}")
    cfg = d["config"]
    _check(isinstance(cfg, dict), "config must be an object")
    known = set(CollisionConfig.__dataclass_fields__)
    unknown = sorted(set(cfg) - known)
    _check(not unknown, f"unknown config field(s): {', '.join(unknown)}")
    particles = cfg.get("particles", DEFAULT.particles)
    if isinstance(particles, int) and particles > MAX_PARTICLES:
        raise ValueError(f"too many particles: {particles} (at most {MAX_PARTICLES})")
    try:
        config = CollisionConfig(**cfg)
    except TypeError as e:
        raise ValueError(f"bad config: {e}") from None

    G, P, C = config.grid, config.particles, config.colours
    positions = _int_array(d["positions"], "positions")
    colours = _int_array(d["colours"], "colours")
    questions = _int_array(d["questions"], "questions")
    n = len(positions)
    _check(1 <= n <= MAX_FRAMES, f"positions must have 1..{MAX_FRAMES} frames, got {n}")
    _check(positions.shape == (n, P, 2), f"positions must have shape (frames, {P}, 2), got {positions.shape}")
    _check(colours.shape == (n, P), f"colours must have shape ({n}, {P}), got {colours.shape}")
    _check(questions.shape == (n, 2), f"questions must have shape ({n}, 2), got {questions.shape}")
    if positions.min() < 0 or positions.max() >= G:
        t = int(np.nonzero(((positions < 0) | (positions >= G)).any(axis=(1, 2)))[0][0])
        raise ValueError(f"positions must lie inside the {G}x{G} grid (0..{G - 1}); frame {t} has "
                         f"{positions[t].tolist()}")
    _check(colours.min() >= 0 and colours.max() < C, f"colours must be in 0..{C - 1}")
    _check(questions.min() >= 0 and questions.max() < C, f"questions must be colours in 0..{C - 1}")

    seed = d.get("seed")
    seq = _assemble(config, positions, colours, questions, seed if isinstance(seed, int) else None)
    for name in ("tokens", "targets", "labels", "answer_frames", "collisions"):
        if d.get(name) is not None:
            given = _int_array(d[name], name)
            if not np.array_equal(given, getattr(seq, name).astype(np.int64)):
                raise ValueError(f"{name} do not match what positions, colours and questions imply")
    return seq


def _int_array(value, name):
    try:
        a = np.asarray(value)
    except ValueError:
        raise ValueError(f"{name} must be a rectangular array of integers") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.integer) or a.size == 0):
        raise ValueError(f"{name} must be a rectangular array of integers, got dtype {a.dtype}")
    return a.astype(np.int64)
