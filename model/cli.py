"""How every command line of the project ends (python -m model.trace, .train, .convert_official, .evaluate,
.card): a failure it foresaw is one `error: ...` line and exit status 2 (each command's own main); Ctrl-C is one
line and 130; a closed stdout (`... | head`) ends quietly with 141, as other Unix tools do; anything else is one
`error:` line and 2 as well, its traceback shown only with EXPIRE_SPAN_DEBUG=1."""
import functools
import os
import sys
import traceback

INTERRUPTED, CLOSED_PIPE = 130, 141


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so the flush at exit does not fail again on the closed pipe."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a real file (a test's stand-in)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def describe(error: BaseException) -> str:
    """One line for an error: its message, whitespace folded, cut to 300 characters."""
    if isinstance(error, KeyError):
        text = f"missing key {' '.join(str(error).split())}"
    else:
        text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def command(main):
    """Wrap a command's main(argv) -> int so that it ends as this module says."""
    @functools.wraps(main)
    def wrapped(argv=None) -> int:
        try:
            code = main(argv)
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
            return code
        except KeyboardInterrupt:
            print("interrupted (Ctrl-C)", file=sys.stderr)
            return INTERRUPTED
        except BrokenPipeError:
            _stdout_to_devnull()
            return CLOSED_PIPE
        except Exception as e:  # the last resort: never a traceback unless asked for
            if os.environ.get("EXPIRE_SPAN_DEBUG"):
                traceback.print_exc()
            print(f"error: unexpected {type(e).__name__}: {describe(e)} (EXPIRE_SPAN_DEBUG=1 shows where)",
                  file=sys.stderr)
            return 2
    return wrapped
