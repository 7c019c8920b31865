"""Play and pause for a slider (the Text page's step t, the object-tracking frames): a fragment reruns on a
timer and moves the slider's value on, so a speaker can talk while memories fade. Only the fragment reruns,
never the model; at the end the value starts again from the beginning."""
import streamlit as st

SPEEDS = {"slow": 1.0, "normal": 0.5, "fast": 0.25}  # seconds between two moves


def controls(name: str, step_label: str, where=st) -> float | None:
    """A Play toggle and a speed choice; the seconds between moves while playing, else None."""
    c1, c2 = where.columns([1, 3])
    playing = c1.toggle("Play", key=f"play_{name}", help=f"Moves {step_label} by itself; toggle again to pause.")
    speed = c2.segmented_control("Speed", list(SPEEDS), default="normal", key=f"speed_{name}",
                                 label_visibility="collapsed")
    return SPEEDS.get(speed or "normal") if playing else None


def advance(key: str, by: int, lo: int, hi: int) -> None:
    """Move the value of a slider's key on by `by`, back to lo after hi (call before the slider is drawn)."""
    value = st.session_state.get(key, lo)
    st.session_state[key] = lo if not isinstance(value, int) or value >= hi else min(hi, value + by)
