"""The Text page's views: one registry, view id -> (label, render).

The ids and labels, in the order shown, are the pure table app.views.text_view_ids (decks and links read it too);
here each id gets its render function, `render_<id>(ctx)`, which draws the view under the page's input and
returns what the page's export offers (Shown). The page (app_pages/text.py) calls VIEWS[view_id].render(ctx),
then forget_section(ctx): under every view, forget a word and see what the rest of the text loses.
"""
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from app import loading, play, presenter, settings, store, ui
from app.views import attention, diff, exports, figures, forgetting, kept, memory
from app.views.examples import partner_text
from app.views.scales import SCALE_HELP, SCALES, scale_values
from app.views.strips import scale_legend, strips_html, text_strip
from app.views.text_view_ids import STRIP_MODES, VIEW_IDS
from app.views.words import split_words


@dataclass(frozen=True)
class Context:
    """What the views need: the trace of the page's text and the words in it, the window shown, and the
    export's metadata."""
    tr: object            # model.trace.Trace of `text`
    text: str
    source: str           # the checkpoint the trace came from (store.run_trace)
    example: str | None   # the example's name; None for the visitor's own text
    words: list           # split_words(tr.tokens)
    stats: object         # word_stats(tr, words)
    start: int            # the window over long inputs: bytes start..stop
    stop: int
    meta: dict            # checkpoint and input hash, for downloads
    text_bits: float | None
    key: tuple            # store.trace_key(source, text): views built once for every session

    @property
    def T(self) -> int:
        return len(self.tr.tokens)

    def shared(self, *settings, build):
        """A view of this trace built once for every session (a class on one text builds its page once)."""
        return store.shared_view((self.key, *settings), build)


class Shown(NamedTuple):
    """What a view offers to export: its figure, its HTML page (title, body), a function building its animation."""
    fig: object = None
    page: tuple[str, str] | None = None
    animation: Callable | None = None


class View(NamedTuple):
    label: str
    render: Callable[[Context], Shown]


def pick_layer(ctx: Context) -> int:
    ui.clamp_state("layer", 0, ctx.tr.n_layers - 1)
    return st.selectbox("Layer", list(range(ctx.tr.n_layers)), key="layer")


def pick_scale(where=st) -> str:
    return where.radio("Colour scale", SCALES, key="scale", horizontal=True,
                       help="\n\n".join(f"**{k}**: {v}" for k, v in SCALE_HELP.items()))


@st.fragment
def where_memory_mattered(ctx: Context):
    """The Figure 9 table: a second run of the model, on request (or at once when it is stored), so a paste costs
    one trace. A fragment: the click reruns only this panel, not the page around it."""
    tr, words = ctx.tr, ctx.words
    if not (store.has_trace(ctx.source, ctx.text, cut=4) or st.session_state.get("measure_mattered")):
        st.button("Find them (runs the model once more, its memory cut to a quarter)", key="measure_mattered")
        return  # a click reruns this panel; the button's value is then True, and the answer takes its place
    cut = None
    with ui.failures("Cannot cut the memory of this model", level="warning"):
        with store.still_note("Measuring: the model runs again with its memory cut to a quarter..."):
            cut = store.run_trace(ctx.source, ctx.text, cut=4)  # its progress bar appears after a second
    if cut is None:
        return
    st.markdown(kept.effect_sentence(tr, cut))
    returning, first = kept.split_rises(tr, cut, words)
    size = presenter.font_size() - 1
    if returning:
        ui.html_block("<p style=\"margin:0.3rem 0\"><b>Returning words</b> that lost most when it was cut</p>"
                      + kept.rises_table_html(returning, kept.RISE_COLUMNS, font_size=size))
    if first:
        ui.html_block("<p style=\"margin:0.3rem 0\"><b>First mentions</b> that lost most</p>"
                      + kept.rises_table_html(first, ["word", "extra bits", "at byte"], font_size=size))
    if returning or first:
        st.caption(f"The same model, its memory cut from {tr.max_span:,} to {cut.span_limit:,} steps. A returning "
                   "word that loses was read back from memory; a first mention that loses leaned on older context.")
    else:
        st.caption(f"No word lost anything when the memory was cut to {cut.span_limit:,} steps: this text "
                   "never needed anything older.")


def render_kept(ctx: Context) -> Shown:
    words, stats, start, stop, T = ctx.words, ctx.stats, ctx.start, ctx.stop, ctx.T
    top_left, top_right = st.columns([3, 2], gap="medium")
    size = presenter.font_size()
    with top_left:
        longest = ctx.shared("longest", size - 1,
                             build=lambda: kept.longest_table_html(words, stats, font_size=size - 1))
        ui.html_block('<p style="margin:0 0 0.5rem"><b>Longest-kept words, by layer</b> (span: how many steps the '
                      "model keeps the word)</p>" + longest)  # one element: each is a message to every visitor
    with top_right:
        st.markdown("**Where memory mattered**: the words that lose most when the memory is cut to a quarter")
        where_memory_mattered(ctx)
    c1, c2 = st.columns([2, 3])
    scale = pick_scale(c1)
    hi = min(stop, start + settings.TEXT_WINDOW)

    def legend_and_strips() -> tuple[str, str]:
        legend, rows = kept.span_strips(words, stats, scale, start, hi)
        return legend, strips_html(rows, size)

    legend, layer_strips = ctx.shared("strips", scale, start, hi, size, build=legend_and_strips)
    c2.html(legend + kept.STRIP_NOTE)
    ui.html_block(layer_strips)
    page = (VIEW_IDS["kept"], ctx.shared("longest", 15, build=lambda: kept.longest_table_html(words, stats))
            + legend + layer_strips)
    if hi < T:
        st.caption(f"Bytes {start:,}-{hi - 1:,} of {T:,} shown; move the window above to see the rest.")
    return Shown(page=page)


def render_heatmap(ctx: Context) -> Shown:
    tr = ctx.tr
    c1, c2 = st.columns(2)
    value = c1.radio("Colour by", ["predicted", "kept"], key="heat_value", horizontal=True,
                     format_func={"predicted": "predicted span", "kept": "steps actually kept"}.get)
    scale = pick_scale(c2)
    fig = figures.span_heatmap(tr, ctx.start, ctx.stop, value=value, scale=scale, words=ctx.words,
                               max_ticks=presenter.max_ticks())
    ui.chart(fig, key="span_heatmap")
    st.caption("Every byte, every layer. Hover a cell for the byte, its predicted span (how many steps the model "
               "asked to keep it) and when it actually left the cache: memories are thrown out only in whole "
               f"blocks of {tr.block_size} bytes, so most stay a little longer than asked.")
    return Shown(fig=fig)


def render_bytes(ctx: Context) -> Shown:
    tr, start = ctx.tr, ctx.start
    mode = st.radio("Strips", STRIP_MODES, key="strip_mode", horizontal=True)
    layer = pick_layer(ctx) if mode == "one layer" else 0
    scale = pick_scale()
    hi = min(ctx.stop, start + settings.TEXT_WINDOW)
    if mode == "every layer":
        values, labels = tr.spans, [f"layer {l}" for l in range(tr.n_layers)]
    elif mode == "one layer":
        values, labels = tr.spans[layer:layer + 1], [f"layer {layer}"]
    else:
        values = (tr.spans.mean(0) if mode.startswith("mean") else tr.spans.max(0))[None, :]
        labels = [mode]
    scaled = scale_values(values, scale)
    if scale == "per layer":
        labels = [f"{lab} (colours from {scaled.lo[k]:,.1f} to {scaled.hi[k]:,.1f} steps)"
                  for k, lab in enumerate(labels)]
        legend = ""
    else:
        legend = scale_legend(0, float(scaled.hi[0]), scale, "span in steps:")
    rows = [(lab, text_strip(tr.tokens, scaled.fraction[k], 1.0, start, hi, "byte {i}: span {v:,.1f} steps",
                             title_values=values[k], palette=True)) for k, lab in enumerate(labels)]
    page = (VIEW_IDS["bytes"], legend + strips_html(rows, presenter.font_size()))
    ui.html_block(page[1])
    st.caption("Byte by byte: each character coloured by its own span. Hover a character for its position.")
    return Shown(page=page)


def render_step(ctx: Context) -> Shown:
    tr, T, start, meta = ctx.tr, ctx.T, ctx.start, ctx.meta

    def kept_legend() -> str:
        return scale_legend(0, 1, "shared", "how much of each memory step t still sees (0 = none, 1 = all):")

    interval = play.controls("step", "step t") if T >= 2 else None

    @st.fragment(run_every=interval)
    @ui.failures("This step cannot be shown")
    def remembered():
        if T < 2:
            st.info("Give at least two bytes: a step needs something before it.")
            return
        ui.clamp_state("step", 1, T)
        if interval:
            play.advance("step", max(1, tr.block_size // 4), 1, T)
        t = ui.slider("Step t: the model has just read byte t and looks back", 1, T, min(T, start + 200), key="step")
        lo = max(0, t - settings.TEXT_WINDOW)
        held, gone = memory.held_at(tr, t), memory.dropped_by(tr, t)
        rows = []
        for l in range(tr.n_layers):
            full = int((held[l] >= 1).sum())
            ramp = int(((held[l] > 0) & (held[l] < 1)).sum())
            label = f"layer {l}: {full} held, {ramp} fading, {int(gone[l].sum())} dropped"
            rows.append((label, text_strip(tr.tokens, held[l], 1.0, lo, t, "{i}: seen at {v:.0%}", struck=gone[l],
                                           palette=True)))
        body = kept_legend() + strips_html(rows, presenter.font_size())
        ui.html_block(body)
        ui.download_view(f"Remembered at step {t:,}", body, meta, "remembered-at-step-t", "This step as HTML")
        st.caption("Bright: still fully held. Darker: fading out (its span has passed; it fades over "
                   f"{tr.ramp} steps). Struck through: already thrown out of the cache. Moving the slider redraws "
                   "this part only; the model does not run again.")
    remembered()
    return Shown(animation=lambda: figures.step_animation(tr, start, ctx.stop))  # built on click


def render_attention(ctx: Context) -> Shown:
    tr, words, meta, T = ctx.tr, ctx.words, ctx.meta, ctx.T
    readers = []
    with ui.failures("Cannot record attention for this input"):
        readers = store.attention_traces(ctx.source, ctx.text)
    n_read = len(readers[0].tokens) if readers else 0
    if readers and n_read < 2:
        st.info("Give at least two bytes: a step needs something before it.")
    elif readers:
        @st.fragment
        @ui.failures("This step cannot be shown")
        def attention_at_step():
            t = ui.slider("Step t: the byte that reads", 1, n_read - 1, min(n_read - 1, 200), key="att_step")
            st.markdown(f"Byte {t:,} (outlined in red at the end of each row below) reads its memories. "
                        "Kept and used, layer by layer:")
            share = attention.read_by(readers, t)
            held = memory.held_at(tr, t)
            st.markdown("\n".join(f"- layer {l}: {attention.kept_vs_used(held[l], share[l])}"
                                   for l in range(tr.n_layers)))
            rows = attention.attention_rows(words, readers, t, tr, lo=max(0, t - settings.TEXT_WINDOW))
            body = (scale_legend(0, 1, "shared", "share of the layer's attention, from none to its favourite:")
                    + strips_html(rows, presenter.font_size()))
            ui.html_block(body)
            ui.download_view(f"Attention at step {t:,}", body, meta, "attention-at-step-t", "This step as HTML")
            st.caption("Each row is one layer: the brighter a word, the more of this byte's attention it took, and "
                       "words struck through had already been dropped from memory, so nothing could read them. "
                       "Shares are of all the attention heads together.")
        attention_at_step()
        if n_read < T:
            st.caption(f"Attention is recorded for the first {n_read:,} bytes of the text.")
    return Shown()


def render_lifetimes(ctx: Context) -> Shown:
    tr, start, stop = ctx.tr, ctx.start, ctx.stop
    layer = pick_layer(ctx)
    first = ui.slider("From byte", start, max(start, stop - 1), start, key="life_start")
    fig = figures.lifetimes(tr, layer, first, stop, words=ctx.words)
    ui.chart(fig, key="lifetimes")
    st.caption("One bar per word (40 at a time), from where it was read: dark while the model keeps it fully (its "
               f"span), light while it fades out ({tr.ramp} steps), and a red x where it actually left the cache. "
               f"The cache is emptied only every {tr.block_size} bytes, so the x often comes later than the fade.")
    return Shown(fig=fig)


def render_in_use(ctx: Context) -> Shown:
    fig = figures.memory_in_use(ctx.tr)
    ui.chart(fig, key="memory_in_use")
    st.caption(f"A fixed-memory model (Transformer-XL) with the same limit keeps {ctx.tr.max_span:,} memories in every "
               "layer; keeping everything grows with the text. Expire-Span keeps what its spans ask for.")
    return Shown(fig=fig)


def render_classes(ctx: Context) -> Shown:
    fig = figures.span_by_class(ctx.tr)
    ui.chart(fig, key="span_by_class")
    st.caption("How long each kind of byte is kept, per layer: boxes span the middle half, the line is the median.")
    return Shown(fig=fig)


def render_bits(ctx: Context) -> Shown:
    tr, words, text_bits = ctx.tr, ctx.words, ctx.text_bits
    st.caption(f"Loss on each byte: how surprised the model was by it (lower is better). Cut memory: the same model "
               f"run with its longest span cut to a quarter ({tr.max_span // 4:,} steps). Bytes whose loss rises "
               "leaned on something said long before (the paper's Figure 9).")
    cut = None
    with ui.failures("Cannot cut the memory of this model", level="warning"):
        cut = store.run_trace(ctx.source, ctx.text, cut=4)
    fig = figures.bits_figure(tr, cut, ctx.start, ctx.stop, words=words, max_ticks=presenter.max_ticks())
    ui.chart(fig, key="bits")
    if text_bits is not None:
        m1, m2 = st.columns(2)
        m1.metric(f"Bits per byte, memory {tr.max_span:,}", f"{text_bits:.3f}")
        if cut is not None:
            m2.metric(f"Bits per byte, memory {cut.span_limit:,}", f"{np.nanmean(cut.bits):.3f}",
                      delta=f"{np.nanmean(cut.bits) - text_bits:+.3f}", delta_color="inverse")
    if cut is not None:
        rows = kept.word_rises(tr, cut, words)
        if rows:
            st.markdown("**Where the extra loss sits**: the words that lost most when the memory was cut.")
            ui.html_block(kept.rises_table_html(rows, font_size=presenter.font_size()))
        else:
            st.caption("No word lost anything when the memory was cut: this text never needed anything older.")
    return Shown(fig=fig)


def render_edit(ctx: Context) -> Shown:
    tr, text, words = ctx.tr, ctx.text, ctx.words
    fig = None
    partner = partner_text(ctx.example) if ctx.example else None
    digest = loading.digest(text)
    if st.session_state.get("text_b_for") != digest:
        edit = (partner, None) if partner else diff.default_edit(text, words, ctx.stats)
        st.session_state["text_b"], st.session_state["text_b_edit"] = edit if edit else (text, None)
        st.session_state["text_b_for"] = digest
    replaced = st.session_state.get("text_b_edit")
    if partner:
        st.caption("Version B is this example's partner (the paper's Figure 8): a rare name against a common word.")
    elif replaced:
        st.caption(f"To start, version B replaces \"{replaced}\", the name the model kept longest, with the common "
                   f"word \"{diff.COMMON_WORD}\" (as in the paper's Figure 8). Edit it as you like.")
    text_b = st.text_area("Version B (edit a word; Ctrl+Enter to apply)", key="text_b", height=120)
    a, b = text.encode("utf-8"), text_b.encode("utf-8")
    if not b:
        st.warning("Version B is empty: type the edited text.")
    elif a == b:
        st.info("Version B is the same as the text above: change a word in it to see which spans change.")
    elif max(len(a), len(b)) > diff.MAX_COMPARE_BYTES:
        st.warning(f"Compare works on texts up to {diff.MAX_COMPARE_BYTES:,} bytes; cut the text first.")
    else:
        tr_b = None
        with ui.failures("Cannot trace version B"):
            tr_b = store.run_trace(ctx.source, text_b)
        if tr_b is not None:
            b_to_a = diff.align_traces(tr, tr_b)
            words_b = split_words(tr_b.tokens)
            rows = diff.word_changes(tr, tr_b, b_to_a, words, words_b)
            if rows:
                fig = figures.diff_heatmap(tr, tr_b, b_to_a, words_b=words_b, max_ticks=presenter.max_ticks())
                ui.chart(fig, key="diff")
                st.markdown("**Words whose span changed most** (words present in both versions):")
                st.dataframe(pd.DataFrame(rows), hide_index=True)
            else:
                st.info("No word present in both versions changed its span by more than 0.01 steps.")
    return Shown(fig=fig)


def forget_controls(ctx: Context, labels: dict) -> tuple[int, int]:
    """The word to forget (its first byte, as links and decks carry it) and the layer (-1: every layer). At first
    the longest-kept word, in every layer; a value from a link or deck that this text or model does not have is
    moved to the nearest word or layer, with a note. A word left from the text before goes back to the first."""
    ss, n = st.session_state, ctx.tr.n_layers
    last = ss.get("_forget_on")  # (trace key, word, layer) the controls showed last
    at, layer = ss.get("forget_at"), ss.get("forget_layer")
    whole = isinstance(at, int) and not isinstance(at, bool)
    if at not in labels:
        from_before = last is not None and last[0] != ctx.key and last[1] == at
        near = forgetting.nearest_word(ctx.words, at) if whole and not from_before else None
        ss["forget_at"] = forgetting.default_word(ctx.words, ctx.stats) if near is None else near
        if near is not None:
            st.info(f"Byte {at:,} starts no word of this text: the nearest word is chosen, "
                    f"{ui.plain(labels[near])}.")
    if layer not in range(forgetting.ALL_LAYERS, n):
        moved = isinstance(layer, int) and not isinstance(layer, bool) and (last is None or last[2] != layer)
        ss["forget_layer"] = min(max(layer, forgetting.ALL_LAYERS), n - 1) if moved else forgetting.ALL_LAYERS
        if moved:
            st.info(f"This model has layers 0 to {n - 1}, not layer {layer}: "
                    f"{forgetting.layer_name(ss['forget_layer'])} is chosen.")
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    at = c1.selectbox("Word to forget (the longest-kept word first)", list(labels), key="forget_at",
                      format_func=labels.get)
    layer = c2.selectbox("Forget it in", list(range(forgetting.ALL_LAYERS, n)), key="forget_layer",
                         format_func=lambda l: "all layers" if l == forgetting.ALL_LAYERS else f"layer {l}")
    c3.button("Forget it", key="forget_go", type="primary")
    ss["_forget_on"] = (ctx.key, at, layer)
    return at, layer


def forget_section(ctx: Context) -> None:
    """Under every view: forget a word and see what the rest of the text loses (docs/method.md 18). Built only
    while open (opening it reruns the page): closed, it is one element of each page run."""
    section = st.expander("Forget a word: what the rest of the text loses without it", key="forget_open",
                          on_change="rerun")
    if section.open:
        with section:
            forget_word(ctx)


def forget_word(ctx: Context) -> None:
    tr, words, ss = ctx.tr, ctx.words, st.session_state
    labels = ctx.shared("forget-words", build=lambda: forgetting.word_labels(words))
    if not labels:
        st.info("This text has no words to forget (only spaces and marks).")
        return
    at, layer = forget_controls(ctx, labels)
    w = forgetting.word_index(words, at)
    end, word = int(words.stop[w]), words.text[w]
    ranges = forgetting.forget_ranges(layer, at, end)
    key = (ctx.key, at, end, layer)
    done = ss.setdefault("_forgotten", {})  # {(trace key, word start, end, layer): the trace with it forgotten}
    if key not in done and (ss.get("forget_go") or store.has_trace(ctx.source, ctx.text, forget=ranges)):
        with ui.failures("Cannot forget this word"):
            with store.still_note(f"Reading the text again without '{word}' in {forgetting.layer_name(layer)}..."):
                done[key] = store.run_trace(ctx.source, ctx.text, forget=ranges)
            while len(done) > settings.FORGET_KEPT:
                done.pop(next(iter(done)))
    forgot = done.get(key)
    if forgot is None:
        st.caption(f"Press **Forget it**: the model reads the text again with '{ui.plain(word)}' (bytes {at:,}-"
                   f"{end - 1:,}) gone from the memory of {forgetting.layer_name(layer)} from the moment it is "
                   "read, and every later byte shows what that cost.")
        return
    delta = forgetting.change(tr.bits, forgot.bits)
    rows = forgetting.loss_rows(words, delta, at, end)
    st.markdown(ui.plain(forgetting.sentence(word, layer, forgetting.extra_after(delta, end), rows)))
    st.caption("Only this occurrence is forgotten, and only in the layers named: earlier mentions of the word, the "
               "other layers and the bytes around it may still carry what it said, so a small change does not mean "
               "the model never used it.")
    size = presenter.font_size()
    if rows:
        ui.html_block('<p style="margin:0.3rem 0"><b>Later words that lost most</b> when it was forgotten</p>'
                      + kept.rises_table_html(rows, font_size=size - 1))
    lo = int(words.start[np.searchsorted(words.start, max(0, at - 80))])
    hi = min(ctx.T, lo + settings.TEXT_WINDOW)

    def strip() -> str:
        vmax = forgetting.symmetric_scale(delta)
        row = forgetting.diff_strip(tr.tokens, delta, vmax, lo, hi, (at, end))
        return forgetting.diff_legend(vmax) + forgetting.diff_strips_html(
            [(f"change in loss when '{word}' (outlined) is forgotten in {forgetting.layer_name(layer)}", row)], size)

    body = ctx.shared("forget-strip", at, end, layer, size, build=strip)
    ui.html_block(body)
    st.caption(f"Bytes {lo:,}-{hi - 1:,} of {ctx.T:,}, from the forgotten word on: nothing before it changes. "
               "Hover a character for its change in bits.")
    title = f"Forgetting '{word}' (byte {at:,}) in {forgetting.layer_name(layer)}"
    c1, c2 = st.columns(2)
    c1.download_button("Change per byte as CSV", lambda: exports.change_csv(tr.tokens, tr.bits, forgot.bits, (at, end)),
                       file_name=f"{ui.file_stem('forget-a-word', ctx.meta)}-change.csv", mime="text/csv",
                       key="dl_forget_csv", on_click="ignore")
    with c2:
        ui.download_view(title, body, ctx.meta, "forget-strip", "This strip as HTML")
    if rows:
        forget_attention(ctx, word, at, layer, ranges, forgot, forgetting.peak_byte(
            words, delta, forgetting.word_index(words, rows[0]["at byte"])))


@ui.failures("Cannot show where this step's attention went")
def forget_attention(ctx: Context, word: str, at: int, layer: int, ranges: list, forgot, peak: int) -> None:
    """Where the step that predicted the byte that lost most (peak) looked, with and without the memory, in the
    chosen layer (for every layer: the one whose attention went most to the word), when that step is within the
    bytes whose attention is recorded."""
    t = peak - 1
    if t < 1:
        return  # no step before it reads anything
    if t >= store.ATTENTION_BYTES:
        st.caption(f"Where the attention went is recorded for the first {store.ATTENTION_BYTES:,} bytes of a text; "
                   f"the byte that lost most, {peak:,}, lies beyond them.")
        return
    head = loading.cut_text(ctx.text, store.ATTENTION_BYTES)
    with store.still_note("Recording the attention with and without the memory..."):
        readers = (store.attention_traces(ctx.source, ctx.text) if layer == forgetting.ALL_LAYERS  # the view's
                   else [store.run_trace(ctx.source, head, attention_layer=layer)])
        if t >= len(readers[0].tokens):
            st.caption(f"The byte that lost most, {peak:,}, lies beyond the bytes whose attention is recorded.")
            return
        shares = [forgetting.share_on(ctx.words, attention.read_by([r], t)[0], at) for r in readers]
        plain = readers[int(np.argmax(shares))]  # every layer: the one that read the word most
        without = store.run_trace(ctx.source, head, attention_layer=plain.attention_layer, forget=ranges)
    st.markdown(ui.plain(forgetting.attention_note(word, plain.attention_layer, t, max(shares),
                                                   most=layer == forgetting.ALL_LAYERS)))
    lo = max(0, t - settings.TEXT_WINDOW, min(at - 40, t - settings.FORGET_CONTEXT))
    rows = [(f"with the memory · {label}", strip) for label, strip in
            attention.attention_rows(ctx.words, [plain], t, ctx.tr, lo=lo)]
    rows += [(f"without it · {label}", strip) for label, strip in
             attention.attention_rows(ctx.words, [without], t, forgot, lo=lo)]
    ui.html_block(scale_legend(0, 1, "shared", "share of the layer's attention, from none to its favourite:")
                  + strips_html(rows, presenter.font_size()))


# The registry: each view id of the pure table, in its order, with its render function.
RENDERS = {"kept": render_kept, "heatmap": render_heatmap, "bytes": render_bytes, "step": render_step,
           "attention": render_attention, "lifetimes": render_lifetimes, "in-use": render_in_use,
           "classes": render_classes, "bits": render_bits, "edit": render_edit}
VIEWS = {vid: View(VIEW_IDS[vid], render) for vid, render in RENDERS.items() if vid in VIEW_IDS}
if list(VIEWS) != list(VIEW_IDS) or list(RENDERS) != list(VIEW_IDS):
    raise AssertionError(f"the Text page's render functions {list(RENDERS)} must follow its views {list(VIEW_IDS)}")
