#!/usr/bin/env python3
"""Generate the synthetic seed CSVs of the MFB screening-analytics demo project.

The CSVs stand in for the tables of the benefits-screener web app (white labels,
screens, household members, incomes, expenses, programs, eligibility snapshots).
Every value is made up from a fixed random seed: running this script again writes
byte-identical files. No real person's data is involved.

Usage: python3 seeds/generate.py            (writes next to this file)
       python3 seeds/generate.py OUT_DIR
"""

import csv
import datetime as dt
import os
import random
import sys

SEED = 20240501
SCREENS = 900
START = dt.datetime(2024, 1, 1)
END = dt.datetime(2025, 6, 30, 23, 59)

WHITE_LABELS = [
    # id, code, name, state, launched, weight of screens
    (1, "co", "Colorado", "CO", dt.datetime(2022, 3, 1), 40),
    (2, "nc", "North Carolina", "NC", dt.datetime(2023, 9, 15), 25),
    (3, "tx", "Texas", "TX", dt.datetime(2024, 2, 1), 15),
    (4, "ma", "Massachusetts", "MA", dt.datetime(2024, 6, 1), 12),
    (5, "il", "Illinois", "IL", dt.datetime(2024, 10, 1), 8),
]

COUNTIES = {
    "co": [("Denver", "802"), ("Adams", "800"), ("Arapahoe", "801"), ("El Paso", "809"),
           ("Jefferson", "804"), ("Boulder", "803"), ("Larimer", "805"), ("Pueblo", "810")],
    "nc": [("Wake", "276"), ("Mecklenburg", "282"), ("Durham", "277"), ("Guilford", "274"),
           ("Forsyth", "271"), ("Buncombe", "288")],
    "tx": [("Harris", "770"), ("Dallas", "752"), ("Travis", "787"), ("Bexar", "782"),
           ("Tarrant", "761"), ("El Paso", "799")],
    "ma": [("Suffolk", "021"), ("Middlesex", "018"), ("Worcester", "016"), ("Hampden", "011"),
           ("Essex", "019")],
    "il": [("Cook", "606"), ("DuPage", "601"), ("Lake", "600"), ("Will", "604"),
           ("Sangamon", "627")],
}

# code, display name, category, rough annual value when eligible, income limit in % of FPL
PROGRAMS = [
    ("snap", "Supplemental Nutrition Assistance Program", "food", 3600, 200),
    ("wic", "Women, Infants and Children", "food", 900, 185),
    ("nslp", "School Lunch", "food", 1100, 185),
    ("medicaid", "Medicaid", "health_care", 7200, 138),
    ("chp", "Children's Health Plan", "health_care", 2400, 260),
    ("tanf", "Cash Assistance for Families", "cash", 4200, 50),
    ("eitc", "Earned Income Tax Credit", "tax_credit", 2300, 250),
    ("liheap", "Home Energy Assistance", "utilities", 600, 150),
    ("lifeline", "Lifeline Phone Discount", "utilities", 110, 135),
    ("ccap", "Child Care Assistance", "child_care", 8000, 225),
]
# programs a partner does not offer
NOT_OFFERED = {"tx": {"ccap"}, "ma": {"lifeline"}, "il": {"nslp", "chp"}}
# programs offered but switched off (still in the table, inactive)
INACTIVE = {("nc", "liheap"), ("il", "tanf")}

REFERRERS = ["211co", " 211CO", "Benefits-Hub", "benefits-hub ", "cch", "FoodBank",
             "foodbank", "library", "DHS", ""]
LANGUAGES = [("en-us", 78), ("es", 16), ("vi", 2), ("fr", 1), ("ru", 1), ("ne", 1), ("am", 1)]

FPL_BASE = 15060
FPL_PER_PERSON = 5380


def pick_weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.uniform(0, total)
    for item, w in pairs:
        x -= w
        if x <= 0:
            return item
    return pairs[-1][0]


def ts(value):
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def yn(value):
    return "true" if value else "false"


def money(value):
    return f"{value:.2f}"


def annual(amount, frequency, hours):
    f = frequency.strip().lower()
    return {
        "weekly": amount * 52,
        "biweekly": amount * 26,
        "semimonthly": amount * 24,
        "monthly": amount * 12,
        "yearly": amount,
        "hourly": amount * (hours or 0) * 52,
    }[f]


def write(out_dir, name, header, rows):
    path = os.path.join(out_dir, name + ".csv")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return len(rows)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    rng = random.Random(SEED)

    white_labels = []
    for wl_id, code, name, state, launched, _ in WHITE_LABELS:
        white_labels.append([wl_id, code, name, state, ts(launched), yn(True)])

    programs = []
    program_index = {}  # white label code -> [(program_id, code, value, limit, active)]
    pid = 0
    for wl_id, code, _, state, _, _ in WHITE_LABELS:
        program_index[code] = []
        for p_code, p_name, category, value, limit in PROGRAMS:
            if p_code in NOT_OFFERED.get(code, set()):
                continue
            pid += 1
            active = (code, p_code) not in INACTIVE
            programs.append([pid, wl_id, p_code, f"{p_name} ({state})", category,
                             yn(active), 1 if category in ("food", "cash") else 2])
            program_index[code].append((pid, p_code, value, limit, active))

    screens, members, incomes, expenses, snapshots, eligibility = [], [], [], [], [], []
    member_id = income_id = expense_id = snapshot_id = elig_id = 0
    span = int((END - START).total_seconds())
    wl_weights = [((wl_id, code, launched), w) for wl_id, code, _, _, launched, w in WHITE_LABELS]

    for screen_id in range(1, SCREENS + 1):
        wl_id, wl_code, launched = pick_weighted(rng, wl_weights)
        earliest = max(START, launched)
        offset = int((END - earliest).total_seconds())
        created = earliest + dt.timedelta(seconds=rng.randrange(offset if offset > 0 else span))
        submitted = None
        if rng.random() < 0.72:
            submitted = created + dt.timedelta(minutes=rng.randint(4, 95), seconds=rng.randint(0, 59))
        county, zip_prefix = rng.choice(COUNTIES[wl_code])
        zipcode = zip_prefix + f"{rng.randint(1, 99):02d}"
        if rng.random() < 0.03:
            county = ""
        household_size = pick_weighted(rng, [(1, 24), (2, 22), (3, 20), (4, 18), (5, 10), (6, 6)])
        is_test = rng.random() < 0.03
        referrer = rng.choice(REFERRERS) if rng.random() < 0.25 else ""
        language = pick_weighted(rng, LANGUAGES)
        assets = rng.choice([0, 0, 0, 250, 500, 1200, 3000, 8000, 15000])

        # household members: head first, then a spouse, children, maybe a grandparent
        ages = [rng.randint(19, 72)]
        relations = ["headOfHousehold"]
        for _ in range(household_size - 1):
            roll = rng.random()
            if "spouse" not in relations and roll < 0.35:
                relations.append("spouse")
                ages.append(max(18, ages[0] + rng.randint(-6, 6)))
            elif roll < 0.9:
                relations.append("child")
                ages.append(rng.randint(0, 17))
            else:
                relations.append("parent")
                ages.append(rng.randint(58, 90))
        has_child = any(r == "child" for r in relations)
        pregnant_member = rng.random() < 0.05
        household_annual = 0.0
        screen_members = []
        for i, (rel, age) in enumerate(zip(relations, ages)):
            member_id += 1
            disabled = rng.random() < (0.15 if age >= 50 else 0.04)
            veteran = age >= 25 and rng.random() < 0.06
            student = 5 <= age <= 24 and rng.random() < 0.7
            pregnant = pregnant_member and i < 2 and 18 <= age <= 44
            screen_members.append((member_id, age, disabled))
            members.append([member_id, screen_id, rel, age, yn(student), yn(pregnant),
                            yn(disabled), yn(veteran)])

        for m_id, age, disabled in screen_members:
            if age < 16:
                continue
            if age >= 67:
                streams = [("pension", "monthly", rng.uniform(600, 2200), "")]
                if rng.random() < 0.5:
                    streams.append(("sSRetirement", "monthly", rng.uniform(900, 2100), ""))
            elif disabled and rng.random() < 0.6:
                kind = rng.choice(["sSI", "sSDisability"])
                amount = 943.0 if kind == "sSI" else rng.uniform(800, 1800)
                streams = [(kind, "monthly", amount, "")]
            elif rng.random() < 0.62:
                freq = pick_weighted(rng, [("hourly", 18), ("weekly", 15), ("biweekly", 30),
                                           ("semimonthly", 10), ("monthly", 20), ("yearly", 7)])
                amount, hours = {
                    "hourly": (rng.uniform(12, 34), rng.choice([10, 15, 20, 25, 30, 32, 40])),
                    "weekly": (rng.uniform(250, 1200), ""),
                    "biweekly": (rng.uniform(600, 2600), ""),
                    "semimonthly": (rng.uniform(650, 2700), ""),
                    "monthly": (rng.uniform(800, 5200), ""),
                    "yearly": (rng.uniform(9000, 64000), ""),
                }[freq]
                kind = "wages" if rng.random() < 0.85 else "selfEmployment"
                streams = [(kind, freq, amount, hours)]
                if rng.random() < 0.08:
                    streams.append(("unemployment", "weekly", rng.uniform(180, 520), ""))
            else:
                streams = []
            if has_child and m_id == screen_members[0][0] and rng.random() < 0.15:
                streams.append(("childSupport", "monthly", rng.uniform(150, 800), ""))
            for kind, freq, amount, hours in streams:
                income_id += 1
                amount = round(amount, 2)
                household_annual += annual(amount, freq, hours or None)
                # a few rows keep the app's inconsistent casing; staging normalises it
                shown_freq = freq.capitalize() if rng.random() < 0.03 else freq
                incomes.append([income_id, screen_id, m_id, kind, shown_freq, money(amount), hours])

        for kind, chance, freq_choices, low, high in [
            ("rent", 0.62, [("monthly", 95), ("weekly", 5)], 650, 2600),
            ("mortgage", 0.14, [("monthly", 100)], 900, 3200),
            ("childCare", 0.30 if has_child else 0.0, [("monthly", 70), ("weekly", 30)], 60, 1400),
            ("medical", 0.18, [("monthly", 80), ("yearly", 20)], 40, 900),
            ("utilities", 0.45, [("monthly", 100)], 60, 320),
        ]:
            if rng.random() < chance:
                expense_id += 1
                freq = pick_weighted(rng, freq_choices)
                amount = rng.uniform(low, high)
                if freq == "weekly":
                    amount /= 4
                elif freq == "yearly":
                    amount *= 12
                expenses.append([expense_id, screen_id, kind, freq, money(round(amount, 2))])

        screens.append([screen_id, wl_id, ts(created), ts(submitted), zipcode, county,
                        household_size, assets, yn(is_test), referrer, language,
                        yn(True), yn(True)])

        if submitted is None:
            continue
        fpl = FPL_BASE + FPL_PER_PERSON * (household_size - 1)
        fpl_pct = 100.0 * household_annual / fpl
        runs = [(submitted, False)]
        if rng.random() < 0.25:
            runs.append((submitted + dt.timedelta(days=rng.randint(1, 120), hours=rng.randint(0, 23)), True))
            if rng.random() < 0.2:
                runs.append((runs[-1][0] + dt.timedelta(days=rng.randint(1, 60)), True))
        for run_no, (at, is_batch) in enumerate(runs):
            snapshot_id += 1
            snapshots.append([snapshot_id, screen_id, ts(at), yn(is_batch)])
            # later runs see the screener's rules change a little
            drift = 1.0 + 0.05 * run_no
            for p_id, p_code, value, limit, active in program_index[wl_code]:
                if not active:
                    continue
                eligible = fpl_pct <= limit * drift
                if p_code in ("wic", "nslp", "chp", "ccap", "tanf") and not has_child:
                    eligible = False
                if p_code == "wic" and not (pregnant_member or any(a < 5 for a in ages)):
                    eligible = False
                if p_code == "eitc" and household_annual == 0:
                    eligible = False
                estimate = 0.0
                if eligible:
                    scale = max(0.2, 1.0 - fpl_pct / (limit * 1.5))
                    estimate = round(value * scale * (0.6 + 0.15 * household_size), 2)
                elig_id += 1
                eligibility.append([elig_id, snapshot_id, p_id, yn(eligible), money(estimate)])

    counts = {
        "raw_white_labels": write(out_dir, "raw_white_labels",
                                  ["id", "code", "name", "state_code", "launched_at", "is_active"],
                                  white_labels),
        "raw_programs": write(out_dir, "raw_programs",
                              ["id", "white_label_id", "name_abbreviated", "name", "category",
                               "active", "estimated_delivery_weeks"], programs),
        "raw_screens": write(out_dir, "raw_screens",
                             ["id", "white_label_id", "created_at", "submission_date", "zipcode",
                              "county", "household_size", "household_assets", "is_test",
                              "referrer_code", "request_language_code", "agree_to_tos",
                              "is_13_or_older"], screens),
        "raw_household_members": write(out_dir, "raw_household_members",
                                       ["id", "screen_id", "relationship", "age", "student",
                                        "pregnant", "disabled", "veteran"], members),
        "raw_incomes": write(out_dir, "raw_incomes",
                             ["id", "screen_id", "household_member_id", "type", "frequency",
                              "amount", "hours_worked"], incomes),
        "raw_expenses": write(out_dir, "raw_expenses",
                              ["id", "screen_id", "type", "frequency", "amount"], expenses),
        "raw_eligibility_snapshots": write(out_dir, "raw_eligibility_snapshots",
                                           ["id", "screen_id", "submission_date", "is_batch"],
                                           snapshots),
        "raw_program_eligibility": write(out_dir, "raw_program_eligibility",
                                         ["id", "eligibility_snapshot_id", "program_id",
                                          "eligible", "estimated_value"], eligibility),
    }
    for name, n in counts.items():
        print(f"{name}: {n} rows")


if __name__ == "__main__":
    main()
