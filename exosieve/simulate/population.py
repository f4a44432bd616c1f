"""Draw the simulated survey's stars and TCEs, with ground truth kept apart from the catalog.

The catalog columns and units are the DR24 TCE table's (tce_period [d], tce_time0bk [BKJD],
tce_duration [h], tce_depth [ppm], av_training_set); the stellar table has the Kepler stellar
table's columns. Ephemerides in the catalog carry errors as a detection pipeline reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from types import SimpleNamespace

from ..utils import atomic_output
from .common import DISPOSITION, INSTRUMENT_KINDS, fold_depth
from .signals import limb_darkened_deficit, transit_duration

# (quarter, MAST file timestamp, first and last cadence time [BKJD]) of the real Kepler quarters.
KEPLER_QUARTERS = [
    (1, "2009166043257", 131.51, 164.98), (2, "2009259160929", 169.76, 258.47),
    (3, "2009350155506", 260.22, 349.50), (4, "2010078095331", 352.38, 442.20),
    (5, "2010174085026", 443.49, 538.16), (6, "2010265121752", 539.46, 629.30),
    (7, "2010355172524", 630.18, 719.55), (8, "2011073133259", 735.36, 802.34),
    (9, "2011177032512", 808.52, 905.93), (10, "2011271113734", 906.85, 1000.27),
    (11, "2012004120508", 1001.21, 1098.33), (12, "2012088054726", 1099.42, 1182.02),
    (13, "2012179063303", 1182.75, 1273.06), (14, "2012277125453", 1274.15, 1371.32),
    (15, "2013011073258", 1373.49, 1471.14), (16, "2013098041711", 1472.10, 1557.96),
    (17, "2013131215648", 1559.23, 1591.00),
]
FIRST_SIMULATED_KEPID = 100_000_001  # outside the real KIC range, 9 digits as MAST's layout wants
R_EARTH_OVER_R_SUN = 0.009158
# Main signal per star. A planet host has 1.4 planets on average and an EB sometimes a secondary
# TCE, so these give DR24's labelled mix: about 23% PC, 61% AFP, 16% NTP (DR24: 3,600 PC, 9,596
# AFP, 2,541 NTP).
#
# Most real false positives sit near the detection threshold: in DR24, 49% of the AFPs and 63% of
# the NTPs are shallower than 100 ppm (against 12% of the PCs), and a third of the AFPs have
# periods under a day. So besides deep eclipsing binaries the survey holds, as the sky does,
# false positives drawn at a signal-to-noise ratio near the threshold (TARGET_SNR): background
# binaries diluted to tens of ppm, a bright neighbour's eclipses leaking in at a fraction of their
# depth (``leak``: its period, its V shape and secondary, a centroid pulled towards it), close
# binaries' ellipsoidal modulation (``ellipsoidal``: two unequal minima per orbit, periods of hours
# to days), and variability or systematics just above the noise.
CLASS_FRACTIONS = {"planet": 0.17, "eb": 0.15, "blend": 0.15, "leak": 0.18, "ellipsoidal": 0.08,
                   "spots": 0.04, "pulsation": 0.03, "systematic": 0.03, "glitch": 0.025}
# TESS (simulate/tess.py): 21" pixels hold more and deeper blends; the spacecraft's momentum dumps
# and scattered light make TCEs of their own; Kepler's sudden pixel-sensitivity drops do not occur.
TESS_CLASS_FRACTIONS = {"planet": 0.15, "eb": 0.13, "blend": 0.22, "leak": 0.10, "ellipsoidal": 0.06,
                        "spots": 0.05, "pulsation": 0.03, "glitch": 0.03, "dump": 0.06, "scattered": 0.05}
# Signal-to-noise of a near-threshold false positive: the threshold times 1 + an exponential of
# mean 0.35 (median about 8.8), as detections crowd the threshold: DR24's depth over its error is
# under 10 for 52% of the AFPs and 82% of the NTPs (10% of the PCs).
THRESHOLD_EXCESS = 0.35
UNLABELLED_FRACTION = 0.15
# DR24's labels are not all right (later catalogs moved a few percent of them): this fraction of
# the labelled TCEs carries another class's label. The truth table keeps the true class.
WRONG_LABEL_FRACTION = 0.03
# Stars that host more than one class: a planet around an eclipsing binary's host (or a star
# with a background EB), and a planet host with a background EB. TESS keeps its earlier rates;
# on DR24's table 2% of the PCs share their star with an AFP at another period.
PLANET_ON_EB_STAR, BLEND_ON_PLANET_STAR = 0.03, 0.03
TESS_PLANET_ON_EB_STAR, TESS_BLEND_ON_PLANET_STAR = 0.10, 0.06
# A false positive's star seldom makes one TCE: the pipeline searches again once a signal is
# removed and finds what is left of it. On DR24's table an AFP's star holds 2.4 TCEs on average (a
# PC's 1.8), and 22% of the AFPs and 37% of the NTPs share their star with a TCE at a period that is
# neither theirs nor twice or half it (44% of the PCs); a quarter of those are the same signal at
# another ratio (3, 1/3, 3/2, 2/3), the rest spurious detections at unrelated periods, 43% of them
# unlabelled. Per periodic false positive, the chance of a TCE at such a ratio (ECHO_FRACTION), and
# per false-positive star, of a spurious detection of the noise and systematics left
# (SPURIOUS_FRACTION, by the star's disposition). Kepler only: the TESS survey is unchanged.
ECHO_RATIOS = (3.0, 1 / 3, 1.5, 2 / 3)
ECHO_FRACTION = 0.08
SPURIOUS_FRACTION = {"AFP": 0.1, "NTP": 0.1}
EXTRA_TCE_UNLABELLED_FRACTION = 0.43
# Real DR24 NTP durations [h]: log10 mean 0.64, standard deviation 0.34 (2,541 NTPs).
NTP_LOG10_DURATION_HOURS = (0.64, 0.34)
# False positives that repeat at a period, so a pipeline may report them again at another ratio of it.
PERIODIC_KINDS = ("eb", "blend", "leak", "ellipsoidal", "spots", "pulsation")
SIGNAL_COLUMNS = ["kind", "signal_id", "period", "epoch", "k", "a_rs", "b", "u1", "u2",
                  "sec_ratio", "sec_phase", "dilution", "amp", "var_period", "events",
                  "event_width", "true_depth", "duration", "snr", "radius_earth"]
DETECTION_SNR = 7.1
PERIOD_BREAK, OCCURRENCE_RISE = 10.0, 2.0


@dataclass
class SimulatedSurvey:
    stars: pd.DataFrame   # per-star truth: stellar parameters, noise and instrument settings
    truth: pd.DataFrame   # per-TCE truth: class and the signal's true parameters
    catalog: pd.DataFrame  # DR24-format TCE table, as a detection pipeline would report it


def quarters_for(n_quarters: int) -> list[tuple]:
    return KEPLER_QUARTERS[:n_quarters]


def _a_over_rs(period, mass, radius):
    # Kepler's third law with P in days, M in solar masses, R in solar radii.
    return 215.03 * (mass * (period / 365.25) ** 2) ** (1 / 3) / radius


def _expected_snr(depth, duration, period, cdpp6, baseline):
    n_transits = np.maximum(np.floor(baseline / period), 1) * 0.85  # gaps eat ~15%
    sigma = cdpp6 * 1e-6 * np.sqrt(0.25 / np.maximum(duration, 1e-3))
    return depth / sigma * np.sqrt(n_transits)


def _draw_stars(rng, n, quarters) -> pd.DataFrame:
    teff = np.clip(rng.normal(5650, 650, n), 3600, 7200)
    mass = np.clip(rng.normal(0.55 + 0.45 * (teff / 5800) ** 2, 0.12), 0.4, 1.8)
    evolved = rng.random(n) < 0.15
    radius = mass ** 0.85 * np.exp(rng.normal(0, 0.08, n)) * np.where(evolved, rng.uniform(1.5, 3.0, n), 1)
    stars = pd.DataFrame({
        "kepid": FIRST_SIMULATED_KEPID + np.arange(n),
        "teff": teff.round(0), "mass": mass.round(3), "radius": radius.round(3),
        "logg": (4.438 + np.log10(mass / radius**2)).round(3),
        "feh": np.clip(rng.normal(-0.05, 0.22, n), -1.0, 0.5).round(2),
        "kepmag": rng.uniform(11.0, 16.0, n).round(3),
        # Combined differential photometric precision on 6 h, log-uniform over Kepler's range.
        "cdpp6": np.exp(rng.uniform(np.log(30), np.log(400), n)).round(1),
        "var_amp": np.exp(rng.uniform(np.log(1e-4), np.log(2e-3), n)),
        # Rotation periods log-uniform over 0.5-40 d, as Kepler's span 0.2-70 d (McQuillan et al.
        # 2014): a star turning in a day or two varies faster than the detrending's 1-day knots
        # follow inside a transit mask, so its planets' local views scatter more than the rest of
        # the light curve, as the real PCs of KIC 2019477 (1.5-day variability) do. With every
        # simulated star slower than 3 d, exominer learned that only eclipsing binaries do that.
        "var_period": np.exp(rng.uniform(np.log(0.5), np.log(40.0), n)),
        "jitter": np.exp(rng.uniform(np.log(5e-4), np.log(4e-3), n)),
        "crowding": rng.uniform(0.85, 1.0, n).round(4),
        "contaminant_dist": rng.uniform(1.0, 4.0, n),
        "contaminant_angle": rng.uniform(0, 2 * np.pi, n),
    })
    stars["dens"] = (1.41 * stars["mass"] / stars["radius"] ** 3).round(4)
    stars["baseline"] = quarters[-1][3] - quarters[0][2]
    stars["t_start"] = quarters[0][2]
    return stars


def _transiting_planet_rate(period):
    """Relative rate of transiting planets per log period (maximum 1): occurrence rises as P^2 up
    to 10 d and is flat beyond (Howard et al. 2012), and a planet transits with probability
    R*/a, which falls as P^(-2/3)."""
    ratio = np.asarray(period) / PERIOD_BREAK
    return np.where(ratio < 1, ratio ** (OCCURRENCE_RISE - 2 / 3), ratio ** (-2 / 3))


def _planet(rng, star, baseline, t_start, weighted=True):
    """Draw planets from realistic distributions until one would be detected (SNR >= 7.1): periods
    up to a third of the baseline (three transits), at most 500 d, so that 17 quarters hold
    planets of 100-500 d as Kepler's DR24 candidates do."""
    p_max = min(500.0, baseline / 3.0)
    for _ in range(200):
        m = 64
        period = np.exp(rng.uniform(np.log(0.6), np.log(p_max), m))
        if weighted:
            period = period[rng.random(m) < _transiting_planet_rate(period)]
            m = len(period)
        # Occurrence rises steeply toward small radii: dN/dR ~ R^-1.8 from 0.8 to 20 Earth radii.
        u = rng.random(m)
        a_, b_ = 0.8 ** -0.8, 20.0 ** -0.8
        r_p = (a_ + u * (b_ - a_)) ** (-1 / 0.8)
        k = r_p * R_EARTH_OVER_R_SUN / star.radius
        b = rng.uniform(0, 0.95, m)
        a_rs = _a_over_rs(period, star.mass, star.radius)
        ok = a_rs > 1.5 * (1 + k)
        dur = transit_duration(period, a_rs, k, b)
        depth = k**2 * 1.1
        snr = _expected_snr(depth, dur, period, star.cdpp6, baseline)
        hit = np.flatnonzero(ok & (snr >= DETECTION_SNR) & (dur > 0.04))
        if hit.size:
            i = hit[0]
            u1 = float(np.clip(0.45 + (5800 - star.teff) / 6000, 0.2, 0.8))
            return dict(kind="planet", period=period[i], epoch=t_start + rng.uniform(0, period[i]),
                        k=k[i], a_rs=a_rs[i], b=b[i], u1=u1, u2=0.22, true_depth=depth[i] * 1e6,
                        duration=dur[i], snr=snr[i], radius_earth=r_p[i])
    return None


def _target_snr(rng) -> float:
    return DETECTION_SNR * (1.0 + rng.exponential(THRESHOLD_EXCESS))


def _depth_for_snr(snr: float, duration: float, period: float, star, baseline: float) -> float:
    """The depth [relative] at which a dip of ``duration`` repeating every ``period`` has ``snr``."""
    return snr / _expected_snr(1.0, duration, period, star.cdpp6, baseline)


def _short_period(rng, p_max: float) -> float:
    """Periods of close binaries: log-uniform from 5 hours to 3 days (the sky's short-period AFPs)."""
    return float(np.exp(rng.uniform(np.log(0.2), np.log(min(3.0, p_max)))))


def _central_depth(k: float, b: float, u1: float = 0.5, u2: float = 0.2) -> float:
    """An eclipse's depth at mid-eclipse [relative], undiluted: k^2 (limb-darkened) when the disc
    is all on the star, far less when it grazes (b near 1 + k), as eclipse_signal draws it."""
    return float(limb_darkened_deficit(np.array([b]), k, u1, u2)[0])


def _leak(rng, star, baseline, t_start):
    """A bright neighbour's eclipses leaking into the aperture at a fraction of their depth: an
    eclipsing binary's shape (V or U, with a secondary), its own period, diluted to a depth near
    the detection threshold; its light comes from tens of arcseconds away."""
    period = _short_period(rng, baseline / 3) if rng.random() < 0.6 else \
        float(np.exp(rng.uniform(np.log(3.0), np.log(min(40.0, baseline / 3)))))
    k = rng.uniform(0.4, 1.0)
    b = rng.uniform(0, 1 + 0.8 * k)
    a_rs = max(_a_over_rs(period, 1.6, 1.0), 2.2 * (1 + k))
    dur = float(transit_duration(period, a_rs, k, min(b, 1 + k - 0.05)))
    undiluted = max(_central_depth(k, b), 1e-9)
    snr = _target_snr(rng)
    depth = _depth_for_snr(snr, dur, period, star, baseline)
    return dict(kind="leak", period=period, epoch=t_start + rng.uniform(0, period), k=k, a_rs=a_rs, b=b,
                u1=0.5, u2=0.2, sec_ratio=rng.uniform(0.0, 1.0) ** 1.5,
                sec_phase=0.5, dilution=min(depth / undiluted, 1.0), true_depth=depth * 1e6, duration=dur, snr=snr)


def _ellipsoidal(rng, star, baseline, t_start):
    """A close binary's ellipsoidal modulation (and a little beaming): two minima per orbit of
    unequal depth, detected at the orbital period near the threshold."""
    period = _short_period(rng, baseline / 3)
    duration = _ntp_duration(rng, period)
    snr = _target_snr(rng)
    amp = _depth_for_snr(snr, duration, period, star, baseline)
    return dict(kind="ellipsoidal", period=period, epoch=t_start + rng.uniform(0, period), amp=amp,
                sec_ratio=rng.uniform(0.05, 0.4), duration=duration, true_depth=amp * 1e6, snr=snr)


def _eclipsing_binary(rng, star, baseline, t_start, blend: bool):
    p_max = min(60.0, baseline / 3.0)
    period = float(np.exp(rng.uniform(np.log(0.5), np.log(p_max))))
    k = rng.uniform(0.3, 1.0) if not blend else rng.uniform(0.3, 0.8)
    # Unblended EBs are often grazing (V-shaped); background EBs mostly not (box-like, planet-like).
    b = rng.uniform(0, 1 + 0.9 * k) if not blend else rng.uniform(0, 0.8)
    a_rs = _a_over_rs(period, 1.6 * star.mass, star.radius)
    a_rs = max(a_rs, 2.2 * (1 + k))
    dur = float(transit_duration(period, a_rs, k, min(b, 1 + k - 0.05)))
    # The eclipse's own depth, grazing or not (half of k^2 for every grazing one was up to 20 times
    # what eclipse_signal draws near b = 1 + k): a blend diluted to a target depth shows it.
    undiluted = max(_central_depth(k, b), 1e-9)
    if blend and rng.random() < 0.75:    # diluted to just above the threshold
        dilution = _depth_for_snr(_target_snr(rng), dur, period, star, baseline) / undiluted
        sec_ratio = rng.uniform(0, 0.3) ** 2
        sec_phase = 0.5
    elif blend:
        target_depth = float(np.exp(rng.uniform(np.log(150e-6), np.log(5000e-6))))
        dilution = target_depth / undiluted
        sec_ratio = rng.uniform(0, 0.3) ** 2
        sec_phase = 0.5
    else:
        dilution = 1.0 if rng.random() < 0.6 else float(np.exp(rng.uniform(np.log(0.03), 0)))
        sec_ratio = rng.uniform(0.0, 1.0) ** 1.5
        sec_phase = 0.5 if rng.random() < 0.7 else float(np.clip(rng.normal(0.5, 0.06), 0.3, 0.7))
    depth = undiluted * dilution
    snr = _expected_snr(depth, dur, period, star.cdpp6, baseline)
    if snr < DETECTION_SNR:
        dilution *= DETECTION_SNR * 1.5 / snr
        depth = undiluted * dilution
        snr = DETECTION_SNR * 1.5
    return dict(kind="blend" if blend else "eb", period=period,
                epoch=t_start + rng.uniform(0, period), k=k, a_rs=a_rs, b=b, u1=0.5, u2=0.2,
                sec_ratio=sec_ratio, sec_phase=sec_phase, dilution=min(dilution, 1.0),
                true_depth=depth * 1e6, duration=dur, snr=snr)


def _ntp_duration(rng, period: float) -> float:
    """A reported duration [d] drawn as real DR24 NTP TCEs' are distributed, whatever the period
    (a pipeline fits a transit model to what is not a transit), at most 30% of it."""
    mean, std = NTP_LOG10_DURATION_HOURS
    return float(min(10 ** rng.normal(mean, std) / 24.0, 0.3 * period))


def _non_transiting(rng, kind, star, baseline, t_start):
    # Most spotted and pulsating stars' TCEs are detections just above the noise.
    faint = rng.random() < 0.8
    snr = _target_snr(rng) if faint else np.nan
    if kind == "spots":
        rot = rng.uniform(1.0, 25.0)
        period = rot if rng.random() < 0.7 else rot / 2
        duration = _ntp_duration(rng, period)
        amp = (2 * _depth_for_snr(snr, duration, period, star, baseline) if faint
               else float(np.exp(rng.uniform(np.log(1e-3), np.log(2e-2)))))
        return dict(kind=kind, period=period, epoch=t_start + rng.uniform(0, period), amp=amp,
                    var_period=rot, duration=duration, true_depth=amp * 0.5e6, snr=snr)
    if kind == "pulsation":
        p0 = rng.uniform(0.15, 2.0)
        duration = _ntp_duration(rng, p0)
        amp = (_depth_for_snr(snr, duration, p0, star, baseline) if faint
               else float(np.exp(rng.uniform(np.log(1e-4), np.log(3e-3)))))
        return dict(kind=kind, period=p0, epoch=t_start + rng.uniform(0, p0), amp=amp,
                    var_period=p0, duration=duration, true_depth=amp * 1e6, snr=snr)
    p_max = min(150.0, baseline / 2.0)
    period = rng.uniform(min(15.0, p_max / 2), p_max)
    epoch = t_start + rng.uniform(0, period)
    n_max = max(int((t_start + baseline - epoch) // period), 0)
    if kind == "systematic":
        n_events = min(int(rng.integers(2, 4)), n_max + 1)
        depth = float(np.exp(rng.uniform(np.log(300e-6), np.log(3000e-6))))
        width = rng.uniform(0.2, 1.5)  # recovery time [d]
        duration = _ntp_duration(rng, period)
        reported = 0.5 * depth
    else:  # single glitches
        n_events = min(int(rng.integers(1, 3)), n_max + 1)
        depth = float(np.exp(rng.uniform(np.log(1000e-6), np.log(10000e-6))))
        width = rng.uniform(0.01, 0.03)
        duration = _ntp_duration(rng, period)
        reported = 0.3 * depth
    cycles = np.sort(rng.choice(n_max + 1, size=n_events, replace=False))
    events = ";".join(f"{epoch + c * period:.5f}" for c in cycles)
    return dict(kind=kind, period=period, epoch=epoch, amp=depth, event_width=width,
                events=events, duration=duration, true_depth=reported * 1e6)


def draw_survey(n_stars: int, n_quarters: int, seed: int, mission: str = "kepler", n_sectors: int = 4
                ) -> SimulatedSurvey:
    """Draw the whole population: Kepler's over ``n_quarters`` quarters, or (``mission`` tess)
    TESS's over ``n_sectors`` sectors and their revisits. Deterministic in its arguments."""
    if mission == "tess":
        from .tess import draw_stars
        rng = np.random.default_rng([seed, n_stars, n_sectors, 2])
        stars = draw_stars(rng, n_stars, n_sectors)
        stars["kepid"] = stars["tic"]          # the star id column the population shares with Kepler
        fractions = TESS_CLASS_FRACTIONS
    else:
        rng = np.random.default_rng([seed, n_stars, n_quarters])
        stars = _draw_stars(rng, n_stars, quarters_for(n_quarters))
        fractions = CLASS_FRACTIONS
    kinds = list(fractions)
    probs = np.array(list(fractions.values()))
    main = rng.choice(kinds, size=n_stars, p=probs / probs.sum())
    rows = []
    kepler = mission != "tess"
    for star, kind in zip(stars.itertuples(index=False), main):
        # Each star's own span: TESS stars are seen in different sectors (for the signal-to-noise,
        # a TESS star's "baseline" is the days it was observed).
        baseline, t_start = float(star.baseline), float(star.t_start)
        signals = []
        if kind == "planet":
            n_planets = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
            for _ in range(n_planets):
                pl = _planet(rng, star, baseline, t_start, weighted=kepler)
                if pl is not None:
                    signals.append(pl)
            if rng.random() < (BLEND_ON_PLANET_STAR if kepler else TESS_BLEND_ON_PLANET_STAR):
                signals.append(_eclipsing_binary(rng, star, baseline, t_start, blend=True))
        elif kind in ("eb", "blend"):
            signals.append(_eclipsing_binary(rng, star, baseline, t_start, blend=kind == "blend"))
            if rng.random() < (PLANET_ON_EB_STAR if kepler else TESS_PLANET_ON_EB_STAR):
                pl = _planet(rng, star, baseline, t_start, weighted=kepler)
                if pl is not None:
                    signals.append(pl)
        elif kind == "leak":
            signals.append(_leak(rng, star, baseline, t_start))
        elif kind == "ellipsoidal":
            signals.append(_ellipsoidal(rng, star, baseline, t_start))
        elif kind in ("dump", "scattered"):
            from .tess import instrument_ntp
            signals.append(instrument_ntp(rng, kind, star))
        else:
            signals.append(_non_transiting(rng, kind, star, baseline, t_start))
        spurious = kepler and kind != "planet" and rng.random() < SPURIOUS_FRACTION[DISPOSITION[kind]]
        if spurious:
            signals.append(_non_transiting(rng, "systematic" if rng.random() < 0.6 else "glitch", star,
                                           baseline, t_start))
        for sig_id, sig in enumerate(signals):
            sig["signal_id"] = sig_id
            tces = _reported_tces(rng, star, sig, baseline, echoes=kepler)
            for tce in tces:     # a further TCE of a false positive's star: often unlabelled
                tce["extra_tce"] = (spurious and sig is signals[-1]) or tce["rep_factor"] in ECHO_RATIOS
            rows.extend(tces)
    truth = pd.DataFrame(rows)
    for col in SIGNAL_COLUMNS:  # tiny surveys may lack a class; keep the schema fixed anyway
        if f"sig_{col}" not in truth.columns:
            truth[f"sig_{col}"] = np.nan
    truth["tce_plnt_num"] = truth.groupby("kepid").cumcount() + 1
    truth.insert(0, "tce_id", truth.kepid.astype(str) + "_" + truth.tce_plnt_num.astype(str))
    unlabelled = rng.random(len(truth)) < np.where(truth.extra_tce, EXTRA_TCE_UNLABELLED_FRACTION,
                                                    UNLABELLED_FRACTION)
    label = truth["true_class"].map(DISPOSITION).to_numpy(dtype=object)
    wrong = ~unlabelled & (rng.random(len(truth)) < WRONG_LABEL_FRACTION)
    others = {"PC": ["AFP", "NTP"], "AFP": ["PC", "NTP"], "NTP": ["PC", "AFP"]}
    label[wrong] = [others[lab][int(rng.integers(2))] for lab in label[wrong]]
    truth["av_training_set"] = np.where(unlabelled, "UNK", label)
    truth["label_wrong"] = wrong
    catalog = _catalog_from_truth(rng, truth, stars.set_index("kepid").baseline.reindex(truth.kepid).to_numpy())
    return SimulatedSurvey(stars=stars, truth=truth, catalog=catalog)


def _reported_tces(rng, star, sig, baseline, echoes: bool = True) -> list[dict]:
    """How a detection pipeline reports a signal: sometimes at twice or half the period, an EB's
    secondary eclipse sometimes as a TCE of its own, and (``echoes``) a periodic false positive
    sometimes again at another ratio of its period (ECHO_RATIOS), with three transits or more.
    Each TCE's depth is what a fold of the signal at its ephemeris shows (common.fold_depth), as a
    pipeline measures it in the light curve, not the signal's design depth."""
    base = dict(kepid=star.kepid, true_class=sig["kind"], **{f"sig_{k}": v for k, v in sig.items()})
    reported = dict(period=sig["period"], epoch=sig["epoch"], duration=sig["duration"], factor=1.0)
    out = []
    if sig["kind"] == "eb":
        u = rng.random()
        if u < 0.25 and sig["period"] * 2 < baseline / 3:
            reported.update(period=2 * sig["period"], factor=2.0)
        elif u < 0.55 and sig["sec_ratio"] > 0.3:
            # Primary and secondary fold on top of each other: the odd/even depths differ.
            reported.update(period=sig["period"] / 2, factor=0.5)
        elif sig["sec_ratio"] > 0.15 and rng.random() < 0.6:
            sec = dict(reported, epoch=sig["epoch"] + sig["sec_phase"] * sig["period"], factor=1.0)
            out.append({**base, "true_class": "eb_secondary", **{f"rep_{k}": v for k, v in sec.items()}})
    out.insert(0, {**base, **{f"rep_{k}": v for k, v in reported.items()}})
    if echoes and sig["kind"] in PERIODIC_KINDS and rng.random() < ECHO_FRACTION:
        ratio = ECHO_RATIOS[int(rng.integers(len(ECHO_RATIOS)))]
        if sig["period"] * ratio < baseline / 3:
            echo = dict(reported, period=sig["period"] * ratio, factor=ratio)
            out.append({**base, **{f"rep_{k}": v for k, v in echo.items()}})
    signal = SimpleNamespace(**{**{f"sig_{col}": np.nan for col in SIGNAL_COLUMNS}, **base})
    t_start = float(star.t_start)
    for tce in out:
        if sig["kind"] in INSTRUMENT_KINDS:     # the spacecraft's (simulate/tess.py): its own depth
            tce["rep_depth"] = sig["true_depth"]
            continue
        depth = fold_depth(signal, tce["rep_period"], tce["rep_epoch"], tce["rep_duration"], t_start,
                           t_start + baseline)
        tce["rep_depth"] = 1e6 * depth if np.isfinite(depth) else sig["true_depth"]
    return out


def _catalog_from_truth(rng, truth: pd.DataFrame, baseline) -> pd.DataFrame:
    n = len(truth)
    dur = truth.rep_duration.to_numpy()
    period = truth.rep_period.to_numpy()
    snr = np.clip(truth.sig_snr.fillna(15).to_numpy(), 7, 200)
    # Ephemeris errors shrink with SNR and, for the period, with the number of transits.
    epoch_err = np.clip(0.08 * dur * (10 / snr), 2e-4, 0.05)
    n_transits = np.maximum(np.floor(baseline / period), 2)
    period_err = epoch_err / n_transits * 2
    depth_err = truth.rep_depth.to_numpy() / snr
    return pd.DataFrame({
        "kepid": truth.kepid,
        "tce_plnt_num": truth.tce_plnt_num,
        "tce_period": (period + rng.normal(0, period_err)).round(7),
        "tce_period_err": period_err,
        "tce_time0bk": (truth.rep_epoch.to_numpy() + rng.normal(0, epoch_err, n)).round(5),
        "tce_time0bk_err": epoch_err,
        "tce_duration": (24 * dur * np.exp(rng.normal(0, 0.12, n))).round(4),
        "tce_duration_err": 24 * dur * 0.12,
        "tce_depth": np.abs(truth.rep_depth.to_numpy() * np.exp(rng.normal(0, 0.1, n))).round(3),
        "tce_depth_err": depth_err,
        "av_training_set": truth.av_training_set,
    })


STELLAR_TABLE_COLUMNS = ["kepid", "teff", "logg", "feh", "radius", "mass", "dens", "kepmag"]
CATALOG_HEADER = """# This file was produced by ExoSieve's simulated survey in the NASA Exoplanet Archive's format
# COLUMN kepid:          KepID
# COLUMN tce_plnt_num:   Planet Number
# COLUMN tce_period:     Orbital Period [days]
# COLUMN tce_time0bk:    Transit Epoch [BKJD]
# COLUMN tce_duration:   Transit Duration [hrs]
# COLUMN tce_depth:      Transit Depth [ppm]
# COLUMN av_training_set: Autovetter Training Set Label
#
"""


def write_catalog_files(survey: SimulatedSurvey, out_dir: str | Path) -> dict[str, Path]:
    """Write the survey's catalog (DR24 format), stellar table and truth tables."""
    out = Path(out_dir)
    paths = {"catalog": out / "q1_q17_dr24_tce.csv", "stellar": out / "keplerstellar.csv",
             "truth": out / "truth.csv", "stars": out / "stars_truth.csv"}
    with atomic_output(paths["catalog"], ".csv") as tmp:
        tmp.write_text(CATALOG_HEADER + survey.catalog.to_csv(index=False))
    for key, df in (("stellar", survey.stars[STELLAR_TABLE_COLUMNS]), ("truth", survey.truth),
                    ("stars", survey.stars)):
        with atomic_output(paths[key], ".csv") as tmp:
            df.to_csv(tmp, index=False)
    return paths
