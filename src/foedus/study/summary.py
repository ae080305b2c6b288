"""The executive summary of a study: a few sentences generated from its
numbers, with no language model, for the top of a report (and for any other
interface that shows the same summary).

:func:`executive_summary` takes a :class:`~foedus.study.study.Study` and
returns its sentences in reading order, each a JSON-ready record::

    {"topic": "deterrence" | "cost" | "robustness" | "promise" | "failure" | "caveats",
     "text": "...",            # the sentence(s), plain text
     "packages": ["id", ...],  # the packages it names, in the order named
     "numbers": {...}}         # the figures it states, unformatted

What it says, and where each figure comes from:

- **deterrence**: the package with the lowest central attack probability
  (``comparison``), with its 5th-95th percentile over the default futures,
  and the packages level with it at the precision shown;
- **cost**: that package's cost per year, the guarantor paying most for its
  size and its approval; among the packages level with it, the cheapest;
- **robustness**: with futures (``design.n_futures``), the package meeting
  every threshold most often (``exploration.robustness``), the central
  leader's share, and how often the central leader's attack probability is
  the lowest of all, or within :data:`LEVEL` of it, future by future;
- **promise**: whose commitments carry the leading packages: the guarantor
  whose removal raises the attack probability most
  (``attack_probability_without``), by the rule the bottom line's sentences
  use (:data:`CARRY_ABS`, :data:`CARRY_REL`);
- **failure**: the failure box of the robust leader (and of the central
  leader when they differ): how often it misses a threshold, which
  threshold it misses most, and PRIM's box (``Study.failure``);
- **caveats**: model estimates, the parameters counted by basis
  (:func:`basis_counts`), changed parameters and the date of the data.

Parameters are named in plain words (:func:`parameter_label`, from the
parameter's description); a parameter's name appears only beside a changed
value, where a reader needs it to reproduce the run (``--set NAME=VALUE``).
Every range and share of futures says which sample it comes from
(:func:`sample`: futures, sampler, seed).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from foedus.study.formatting import country, fmt, label, number

#: Two attack probabilities within this distance (absolute) count as level
#: with each other future by future: 0.1 percentage point, the precision shown.
LEVEL = 0.001
#: A guarantor "carries" a package when removing it raises the attack
#: probability by more than ``max(CARRY_ABS, CARRY_REL * attack)``: the rule
#: of the bottom line's sentences (``foedus.study.study.sentence``).
CARRY_ABS, CARRY_REL = 0.005, 0.5
#: Parameter bases, in the order counted.
BASES = ("evidence", "calibrated", "anchored", "judgement")
#: Packages named at most in a list of leaders.
LEADERS_SHOWN = 4
#: Longest plain label of a parameter, in characters.
LABEL_MAX = 80

_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


def executive_summary(study) -> list[dict]:
    """The executive summary of ``study``: a list of sentence records (see
    the module docstring), generated from its comparison, exploration and
    failure boxes."""
    cmp = study.comparison
    pk = cmp["packages"]
    if not pk:
        return []
    names = {c.iso3: c.name for c in study.countries.countries.values()}
    ctx = _Context(study, cmp, names)
    out = [ctx.deterrence(), ctx.cost()]
    out.append(ctx.robustness())
    out.append(ctx.promise())
    out.extend(ctx.failures())
    out.append(ctx.caveats())
    return [s for s in out if s is not None]


def basis_counts(parameters) -> dict[str, int]:
    """How many parameters rest on evidence, on calibration, on judgement
    (every basis in :data:`BASES`, then any other found)."""
    counts = {b: 0 for b in BASES}
    for p in parameters.parameters.values():
        counts[p.basis.value] = counts.get(p.basis.value, 0) + 1
    return counts


def carrier(entry: dict) -> dict | None:
    """The guarantor whose removal raises ``entry``'s attack probability most,
    if it carries the package (see :data:`CARRY_ABS`): ``{"iso3", "without",
    "rise"}``; else None."""
    a = entry["metrics"]["attack_probability"]
    worth = [(g["attack_probability_without"] - a, g["iso3"], g["attack_probability_without"]) for g in entry["guarantors"]
             if g.get("attack_probability_without") is not None]
    if not worth or a is None:
        return None
    rise, iso, without = max(worth)
    if rise > max(CARRY_ABS, CARRY_REL * a):
        return {"iso3": iso, "without": without, "rise": rise}
    return None


def sample(futures: int, seed: int, sampler: str) -> str:
    """Which sample of futures a figure comes from: "1,000 futures, LHS, seed 0"."""
    return f"{futures:,} futures, {_drawn(seed, sampler)}"


def _drawn(seed: int, sampler: str) -> str:
    """How a sample was drawn: "LHS, seed 0"."""
    return f"{str(sampler).upper()}, seed {seed}"


def parameter_label(name: str, parameters) -> str:
    """A parameter in plain words: the first clause of its description
    (asides in parentheses left out; up to a colon, semicolon or full stop),
    cut at a word to at most :data:`LABEL_MAX` characters; its name when it
    has no description."""
    p = parameters.describe(name)
    if p is None:
        return name
    text = re.sub(r"\s*\([^()]*\)", "", " ".join(p.description.split()))
    first = re.split(r"[:;(]|\. ", text, maxsplit=1)[0].strip().rstrip(".,")
    if len(first) <= LABEL_MAX:
        return first
    cut = first.rfind(" ", 0, LABEL_MAX)
    return first[:cut if cut > 0 else LABEL_MAX - 1].rstrip(",;") + "…"


def plain_rule(restricted: list[dict], parameters) -> str:
    """A failure box's rule in plain words: each restricted input (a record
    of :func:`foedus.study.study.box_record`) by its label, "is at most",
    "is at least" or "is between" its bounds, in its unit."""
    parts = []
    for r in restricted:
        lo, hi = _value(r["low"], r.get("unit") or ""), _value(r["high"], r.get("unit") or "")
        low_cut, high_cut = r["low"] != r["data_low"], r["high"] != r["data_high"]
        if low_cut and high_cut:
            bound = f"is between {lo} and {hi}"
        elif low_cut:
            bound = f"is at least {lo}"
        else:
            bound = f"is at most {hi}"
        parts.append(f"“{parameter_label(r['name'], parameters)}” {bound}")
    return _join(parts)


def _value(v: float, unit: str) -> str:
    """A parameter value in its unit; money as "$114 m" or "$1.2 bn"."""
    return fmt("total_cost_usd_per_year", v) if unit.startswith("usd") else number(v, unit)


# ---------------------------------------------------------------------------------


def _count(n: int) -> str:
    return _WORDS.get(n, str(n))


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _share(v: float) -> str:
    """A share of futures, as a whole percentage; a share that is neither
    none nor all never reads as "0%" or "100%" ("<1%" and ">99%")."""
    text = f"{100 * v:.0f}"
    if 0 < v and text == "0":
        return "<1%"
    if v < 1 and text == "100":
        return ">99%"
    return text + "%"


def _basis_phrase(basis: str, n: int) -> str:
    """What ``n`` inputs of one basis rest on: "rests on judgement", "are
    calibrated", "come from evidence"."""
    one = n == 1
    return {"judgement": "rests on judgement" if one else "rest on judgement",
            "anchored": "is a judgement inside a sourced band" if one else "are judgements inside sourced bands",
            "calibrated": "is calibrated" if one else "are calibrated",
            "evidence": "comes from evidence" if one else "come from evidence"}.get(basis, f"{'has' if one else 'have'} basis {basis}")


def _op(op: str) -> str:
    return {"<=": "≤", ">=": "≥"}.get(op, op)


class _Context:
    """What the sentences share: the comparison, the leaders, names."""

    def __init__(self, study, cmp: dict, names: dict[str, str]):
        self.study, self.cmp, self.names = study, cmp, names
        self.H = cmp["horizon_years"]
        self.by_id = {p["id"]: p for p in cmp["packages"]}
        self.titles = {p["id"]: p["title"] for p in cmp["packages"]}
        ranked = sorted((p for p in cmp["packages"] if p["metrics"]["attack_probability"] is not None),
                        key=lambda p: p["metrics"]["attack_probability"])
        self.ranked = [p["id"] for p in ranked]
        self.leader = self.ranked[0] if self.ranked else cmp["packages"][0]["id"]
        a0 = fmt("attack_probability", self.attack(self.leader))
        #: packages level with the leader at the precision shown (the leader first)
        self.level = [i for i in self.ranked if fmt("attack_probability", self.attack(i)) == a0]
        self.exploration = study.exploration
        self.robust = None
        if self.exploration is not None and study.parsed_thresholds:
            rob = {r["id"]: r for r in self.exploration.robustness}
            order = sorted(self.exploration.package_ids, key=lambda i: (-(rob[i]["satisficing"] or 0.0), self.exploration.package_ids.index(i)))
            self.rob, self.rob_order = rob, order
            self.robust = order[0]

    # -- helpers ------------------------------------------------------------------
    def attack(self, i: str) -> float | None:
        return self.by_id[i]["metrics"]["attack_probability"]

    def named(self, i: str) -> str:
        """A package by its title with its id: "NATO membership [nato]"."""
        return f"{self.titles.get(i, i)} [{i}]"

    def country(self, iso: str) -> str:
        """A guarantor's name as it reads in a sentence ("the United States")."""
        return country(iso, self.names)

    def war(self) -> str:
        return f"renewed war within {self.H:g} years"

    # -- sentences ------------------------------------------------------------------
    def deterrence(self) -> dict:
        i = self.leader
        p = self.by_id[i]
        a = self.attack(i)
        r = (p.get("ranges") or {}).get("attack_probability")
        if len(self.by_id) == 1:
            text = f"At the central values, the risk of {self.war()} under {self.named(i)} is {fmt('attack_probability', a)}"
        else:
            text = f"At the central values, {self.named(i)} deters best: {self.war()} {fmt('attack_probability', a)}"
        rng = self.cmp.get("ranges")
        if rng and r and r.get("p5") is not None:
            text += (f" (from {fmt('attack_probability', r['p5'])} to {fmt('attack_probability', r['p95'])}, 5th to 95th percentile over "
                     f"{sample(rng['futures'], rng['seed'], rng['sampler'])})")
        text += "."
        others = self.level[1:]
        if others:
            shown = others[:LEADERS_SHOWN]
            more = f" and {len(others) - len(shown)} more" if len(others) > len(shown) else ""
            verb = "is" if len(others) == 1 else "are"
            text += (f" {_join(shown) if not more else ', '.join(shown) + more} {verb} level with it at this precision "
                     f"({fmt('attack_probability', a)}).")
        return {"topic": "deterrence", "text": text, "packages": [i, *others],
                "numbers": {"attack_probability": a, "p5": r["p5"] if r else None, "p95": r["p95"] if r else None,
                            "level": list(self.level), "horizon_years": self.H}}

    def cost(self) -> dict:
        i = self.leader
        m = self.by_id[i]["metrics"]
        cost, appr = m["total_cost_usd_per_year"], m["approval_probability"]
        numbers = {"package": i, "total_cost_usd_per_year": cost, "approval_probability": appr}
        if cost:
            payer = max(self.by_id[i]["guarantors"], key=lambda g: g.get("cost_pct_gdp") or 0.0)
            text = (f"It costs {fmt('total_cost_usd_per_year', cost)} a year, {self.country(payer['iso3'])} paying most for its size "
                    f"({fmt('max_cost_pct_gdp', payer.get('cost_pct_gdp'))}), and it is approved and in force with probability "
                    f"{fmt('approval_probability', appr)}.")
            numbers |= {"payer": payer["iso3"], "payer_cost_pct_gdp": payer.get("cost_pct_gdp")}
        else:
            text = f"It costs nothing, and it is approved and in force with probability {fmt('approval_probability', appr)}."
        packages = [i]
        cheaper = [j for j in self.level[1:] if (self.by_id[j]["metrics"]["total_cost_usd_per_year"] or 0.0) < (cost or 0.0)]
        if cheaper:
            j = min(cheaper, key=lambda k: (self.by_id[k]["metrics"]["total_cost_usd_per_year"] or 0.0, self.level.index(k)))
            mj = self.by_id[j]["metrics"]
            text += (f" Of the packages level with it, {self.named(j)} costs least: {fmt('total_cost_usd_per_year', mj['total_cost_usd_per_year'])} "
                     f"a year, approved and in force {fmt('approval_probability', mj['approval_probability'])}.")
            packages.append(j)
            numbers |= {"cheapest_level": j, "cheapest_level_cost": mj["total_cost_usd_per_year"]}
        return {"topic": "cost", "text": text, "packages": packages, "numbers": numbers}

    def robustness(self) -> dict:
        d = self.study.design
        res = self.exploration
        if res is None:
            return {"topic": "robustness", "packages": [], "numbers": {"futures": 0},
                    "text": "Robustness across futures was not computed (no futures sampled), so nothing here says how the ranking "
                            "holds when the uncertain parameters move."}
        ths = self.study.parsed_thresholds
        ids = res.package_ids
        # the central leader against the best package, future by future
        att = np.asarray(res.metrics["attack_probability"])
        near = float(np.mean(att[ids.index(self.leader)] <= att.min(axis=0) + LEVEL)) if att.size else 0.0
        numbers = {"futures": res.n, "seed": d.seed, "sampler": d.sampler, "leader": self.leader, "leader_near_best": near}
        across = f"Across {res.n:,} sampled futures ({_drawn(d.seed, d.sampler)})"
        near_text = (f"Future by future, the risk of {self.war()} under {self.leader} is the lowest of all, or within 0.1 percentage point "
                     f"of it, in {_share(near)} of the {res.n:,} sampled futures ({_drawn(d.seed, d.sampler)}).")
        if not ths:
            return {"topic": "robustness", "text": near_text, "packages": [self.leader], "numbers": numbers}
        rob, order = self.rob, self.rob_order
        best = self.robust
        crit = "; ".join(f"{label(t.metric).lower()} {_op(t.op)} {fmt(t.metric, t.value)}" for t in ths)
        runners = [j for j in order[1:3] if (rob[j]["satisficing"] or 0) > 0]
        never = [j for j in ids if not rob[j]["satisficing"]]
        sat = rob[best]["satisficing"] or 0.0
        if len(ids) == 1:
            text = f"{across}, {self.named(best)} meets every threshold ({crit}) in {_share(sat)} of them."
            numbers |= {"robust": best, "satisficing": {best: rob[best]["satisficing"]}, "thresholds": [str(t) for t in ths], "never": []}
            return {"topic": "robustness", "text": text, "packages": [best], "numbers": numbers}
        if sat == 0:
            text = f"{across}, no package meets every threshold ({crit}) in any future."
        else:
            text = (f"{across}, {self.named(best)} meets every threshold ({crit}) most often, in "
                    f"{_share(sat)} of them")
            if runners:
                text += ", ahead of " + _join([f"{j} ({_share(rob[j]['satisficing'])})" for j in runners])
            text += "."
            if best != self.leader and self.leader not in runners:
                text += f" The central leader, {self.leader}, meets them in {_share(rob[self.leader]['satisficing'] or 0.0)}."
            if never:
                text += f" In no future {'does' if len(never) == 1 else 'do'} {_join(never)} meet them."
        text += " " + near_text
        numbers |= {"robust": best, "satisficing": {j: rob[j]["satisficing"] for j in ids}, "thresholds": [str(t) for t in ths],
                    "never": never}
        return {"topic": "robustness", "text": text, "packages": list(dict.fromkeys([best, *runners, self.leader])) if sat else [self.leader], "numbers": numbers}

    def leaders(self) -> list[str]:
        """The leading packages: those level with the central leader (at most
        :data:`LEADERS_SHOWN`), and the robust leader."""
        out = list(self.level[:LEADERS_SHOWN])
        if self.robust is not None and self.robust not in out and (self.rob[self.robust]["satisficing"] or 0) > 0:
            out.append(self.robust)
        return out

    def promise(self) -> dict | None:
        leaders = self.leaders()
        if not any(self.by_id[i]["guarantors"] for i in leaders):
            return None
        carried: dict[str, list[tuple[str, float]]] = {}
        free: list[tuple[str, float | None]] = []
        numbers: dict = {}
        for i in leaders:
            c = carrier(self.by_id[i])
            numbers[i] = c
            if c:
                carried.setdefault(c["iso3"], []).append((i, c["without"]))
            elif self.by_id[i]["guarantors"]:
                most = max((g["attack_probability_without"] for g in self.by_id[i]["guarantors"]
                            if g.get("attack_probability_without") is not None), default=None)
                free.append((i, most))
        parts = []
        n = len(leaders)
        for iso, items in sorted(carried.items(), key=lambda kv: -len(kv[1])):
            who = self.country(iso)
            if n == 1:
                subject = f"The leader, {leaders[0]}, rests"
            elif len(items) == n:
                subject = f"All {_count(n)} leading packages rest" if n > 2 else "Both leading packages rest"
            elif len(items) == 1:
                subject = f"{'Of the leading packages, ' if not parts else ''}{items[0][0]} rests"
            else:
                subject = f"{_count(len(items)).capitalize()} of the {_count(n)} leading packages rest"
            rises = _join([f"{fmt('attack_probability', w)} for {i}" for i, w in items]) if len(items) > 1 else fmt("attack_probability", items[0][1])
            parts.append(f"{subject} on {who}: without its commitments, the risk of renewed war rises to {rises}")
        for i, most in free:
            parts.append(f"no single guarantor carries {i} (without any one of them, the risk is at most "
                         f"{fmt('attack_probability', most)})")
        text = "; ".join(parts)
        text = text[0].upper() + text[1:] + "."
        return {"topic": "promise", "text": text, "packages": leaders, "numbers": numbers}

    def failures(self) -> list[dict]:
        if self.exploration is None or not self.study.parsed_thresholds:
            return []
        if self.robust == self.leader:
            return [self.failure(self.leader, "The leader")]
        return [self.failure(self.robust, "The most robust package"), self.failure(self.leader, "The central leader")]

    def failure(self, i: str, role: str) -> dict:
        f = self.study.failure(i)
        rob = self.rob[i]
        ths = self.study.parsed_thresholds
        numbers = {"status": f["status"], "fail_share": f["fail_share"], "n_futures": f["n_futures"]}
        if f["status"] == "never_fails":
            return {"topic": "failure", "text": f"{role}, {i}, meets every threshold in all {f['n_futures']:,} futures.", "packages": [i],
                    "numbers": numbers}
        if f["status"] == "always_fails":
            return {"topic": "failure", "text": f"{role}, {i}, misses a threshold in every one of the {f['n_futures']:,} futures.",
                    "packages": [i], "numbers": numbers}
        worst = min(ths, key=lambda t: rob["per_threshold"][str(t)])
        missed = 1.0 - rob["per_threshold"][str(worst)]
        text = (f"{role}, {i}, misses a threshold in {_share(f['fail_share'])} of the {f['n_futures']:,} sampled futures, most often "
                f"“{label(worst.metric).lower()} {_op(worst.op)} {fmt(worst.metric, worst.value)}” (missed in {_share(missed)})")
        numbers |= {"most_missed": str(worst), "most_missed_share": missed}
        if f["status"] == "box" and f.get("restricted"):
            bases = Counter((self.study.parameters.describe(r["name"]).basis.value if self.study.parameters.describe(r["name"]) else "unknown")
                            for r in f["restricted"])
            k = len(f["restricted"])
            if len(bases) == 1:
                b = next(iter(bases))
                basis = (f"that input {_basis_phrase(b, 1)}" if k == 1
                         else f"{'both' if k == 2 else 'all ' + _count(k)} inputs {_basis_phrase(b, k)}")
            else:
                basis = "of its inputs, " + _join([f"{_count(c)} {_basis_phrase(b, c)}" for b, c in bases.most_common()])
            text += (f". The failure box holds {_share(f['coverage'])} of these failures: futures where "
                     f"{plain_rule(f['restricted'], self.study.parameters)} ({_share(f['density'])} of futures there fail; {basis})")
            numbers |= {"rule": f["rule"], "coverage": f["coverage"], "density": f["density"], "bases": dict(bases)}
        else:
            text += "; no region of the uncertain inputs singles out its failures"
        return {"topic": "failure", "text": text + ".", "packages": [i], "numbers": numbers}

    def caveats(self) -> dict:
        ps = self.study.parameters
        counts = basis_counts(ps)
        n = sum(counts.values())
        by = _join([f"{counts[b]} ({100 * counts[b] / max(n, 1):.0f}%) {w}" for b, w in
                    (("judgement", "rest on judgement"), ("anchored", "are judgements inside bands that named sources give"),
                     ("calibrated", "are calibrated to published results"), ("evidence", "come from evidence")) if b in counts])
        text = f"These are model estimates, not predictions: every figure follows from {n} parameters, of which {by}."
        ov = dict(ps.overrides)
        if ov:
            # the name stays beside the value: it is what reproduces the run (--set NAME=VALUE)
            shown = "; ".join(f"{k} = {v:g} (“{parameter_label(k, ps)}”)" for k, v in sorted(ov.items())[:6]) + (" …" if len(ov) > 6 else "")
            text += f" {len(ov)} {'parameter differs' if len(ov) == 1 else 'parameters differ'} from the defaults: {shown}."
        text += f" Data as of {self.cmp['data']['latest']}."
        return {"topic": "caveats", "text": text, "packages": [],
                "numbers": {"parameters": n, "basis": counts, "overrides": ov, "data_latest": self.cmp["data"]["latest"]}}
