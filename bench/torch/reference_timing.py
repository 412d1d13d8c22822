"""Timing shared by the PyTorch reference scripts of bench/: the same warm-up and median as the
project's own timings (bench/timing.ts)."""
import time


def step_times(step, repeats, warmup=1):
    """Seconds taken by each of `repeats` calls of `step` after `warmup` untimed calls, fastest first."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return sorted(times)


def median(times):
    """The middle one of sorted times (the upper middle for an even count)."""
    return times[len(times) // 2]
