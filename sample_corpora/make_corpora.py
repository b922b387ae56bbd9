"""Generate the bundled training corpora of charrnn-tui: verse, code, records and multilingual.

All their text comes from this script: the word lists, templates and grammars below were written
for this project, and each corpus draws from its own fixed-seed random.Random, so running
`python sample_corpora/make_corpora.py` rewrites every .txt file byte for byte (stdlib only).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path


def a(word: str) -> str:
    """The word with its indefinite article ("an amber", "a lantern")."""
    return ("an " if word[0] in "aeiou" else "a ") + word


def plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")


def take(pieces: Iterator[str], target_bytes: int) -> str:
    """Whole pieces until the text reaches target_bytes, so no poem or record is cut in half."""
    out, size = [], 0
    for piece in pieces:
        out.append(piece)
        size += len(piece.encode("utf-8"))
        if size >= target_bytes:
            break
    return "".join(out)


# ------------------------------------------------------------------ verse.txt (the default)

ADJ = """quiet silver hollow bitter patient restless narrow broken golden weary gentle crooked
    lonely sleeping distant heavy tender pale wild early amber salt dim faithful idle ragged
    hidden cold green slow little ancient humble wandering""".split()
NOUN = """heron lantern window orchard river harbour candle kettle sparrow garden meadow shadow
    willow ferry letter ribbon bridge chimney compass morning evening widow miller shepherd sailor
    mother daughter stranger apple ladder thistle feather whistle cellar pocket lamp field road
    boat coat cloud hand voice nest""".split()
VI = """slept waited wandered trembled lingered whispered faded burned drifted sang wept listened
    turned rested shivered glimmered knelt laughed""".split()
VT = """kept carried found lost mended called buried followed painted counted gathered remembered
    loved watched folded sold forgot named""".split()
PREP = """by beneath beyond upon across along behind below above toward against within beside
    under over near past""".split()
WHEN = "when while until before after since".split()
NAMES = """Anselm Margery Tobias Wren Isolde Hollis Peregrine Bett Corin Maud Elspeth Jory Nell
    Silas Ottilie""".split()
# each group rhymes; a line ends with a word from one group, so stanzas rhyme
RHYMES = [g.split() for g in (
    "night light flight sight rite height kite", "sea tree key bee plea lee quay",
    "stone bone throne tone moan loan cone", "rain lane grain chain pane plain crane vane",
    "door shore floor oar store core moor", "day bay clay hay way spray tray",
    "hill mill sill rill quill will", "fire spire wire lyre briar choir",
    "moon noon dune tune spoon lagoon", "bell well shell spell dell cell",
    "snow crow glow row doe roe", "dust rust crust gust trust", "heart cart art part dart chart",
    "fold hold mould marigold", "stream dream beam seam gleam", "bread thread bed shed head",
    "wing spring string ring king thing")]
# {end} is the rhyme word; a template ending in ? or ! keeps its own punctuation
LINES = [
    "the {adj} {noun} {vi} {prep} the {end}", "I {vt} the {noun} {prep} the {end}",
    "and {name} {vi} {prep} the {end}", "O {adj} {noun}, come {prep} the {end}",
    "we {vt} the {adj} {noun} and the {end}", "{when} the {noun} {vi} {prep} the {end}",
    "there is no {noun} {prep} the {end}", "the {noun} was {adj} as the {end}",
    "how {adj} the {noun} {prep} the {end}!", "{name} {vt} the {noun} that {vi} in the {end}",
    "who {vt} the {noun} {prep} the {end}?", "my {noun} is {a_adj} {end}",
    "you {vt} me once {prep} the {end}", "and all the {nouns} {vi} {prep} the {end}",
    "so {adj} and {adj} {prep} the {end}", "where once the {noun} {vi} {prep} the {end}",
    "{name}, do you remember the {end}?", "the {noun} is gone, and gone the {end}",
    "between the {noun} and the {end}", "I heard the {noun} {prep} the {end}",
    "the {nouns} of {name} {vi} in the {end}", "nobody {vt} the {adj} {end}",
]
TITLES = ["THE {ADJ} {NOUN}", "{NAME} AT THE {NOUN}", "A SONG FOR THE {NOUN}",
          "WHAT THE {NOUN} KNEW", "THE {NOUN} AND THE {NOUN}", "THE {NOUN}'S {NOUN}",
          "OF {NOUNS} AND {NOUNS}", "AN EVENING BY THE {NOUN}", "{NAME}'S {NOUN}",
          "LAMENT OF THE {ADJ} {NOUN}"]
SCENE_TITLES = ["A DIALOGUE AT THE {NOUN}", "THE {NOUN}: A SCENE", "{NAME} AND THE {NOUN}: A SCENE"]
OPENERS = ["Hush, {other},", "Tell me,", "Nay,", "Look,", "Listen:", "Ah,", "Sweet {other},",
           "Come, {other},", "I swear,"]
ACTIONS = ["takes up the {noun}", "turns toward the {noun}", "sets down the {noun}",
           "listens at the {noun}", "crosses to the {noun}", "sits by the {noun}",
           "hides the {noun}", "kneels beside the {noun}"]
CUES = ["[A bell is heard.]", "[Thunder, far off.]", "[Night falls.]", "[The lamp goes out.]",
        "[Music within.]", "[A knocking at the door.]"]
POOLS = {"adj": ADJ, "a_adj": ADJ, "noun": NOUN, "nouns": NOUN, "vi": VI, "vt": VT, "prep": PREP,
         "when": WHEN, "name": NAMES}


def fill(rng: random.Random, template: str, pools: dict = POOLS, **fixed: str) -> str:
    """Replace each {slot} with a random word (or a fixed one); UPPERCASE slots give capitals."""
    used = set(fixed.values())

    def slot(m: re.Match) -> str:
        key = m.group(1).lower()
        value = fixed.get(key)
        while value is None or (value in used and key not in fixed):  # no word twice in a line
            value = rng.choice(pools[key])
        used.add(value)
        value = plural(value) if key == "nouns" else a(value) if key == "a_adj" else value
        return value.upper() if m.group(1).isupper() else value

    return re.sub(r"\{(\w+)\}", slot, template)


def verse_line(rng: random.Random, rhyme: str, stop: str, opener: str = "", **fixed: str) -> str:
    """A capitalised line ending in `rhyme` and `stop`, after an optional spoken opener."""
    template = rng.choice(LINES)
    if opener and not template.startswith("O "):  # "Ah, O heron" reads badly: drop the opener
        template = opener + " " + template
    line = fill(rng, template, end=rhyme, **fixed)
    return line[0].upper() + line[1:] + ("" if line[-1] in "?!" else stop)


def rhyme_words(rng: random.Random, scheme: str) -> list[str]:
    """One end word per letter of the scheme: same letter, same rhyme group, different words."""
    letters = sorted(set(scheme))
    groups = zip(letters, rng.sample(RHYMES, len(letters)), strict=True)
    chosen = {letter: rng.sample(group, scheme.count(letter)) for letter, group in groups}
    return [chosen[letter].pop() for letter in scheme]


def poem(rng: random.Random) -> str:
    scheme = rng.choice(["ABAB", "AABB", "ABCB", "ABAB"])
    refrain = verse_line(rng, rng.choice(rng.choice(RHYMES)), ".") if rng.random() < 0.25 else ""
    stanzas = []
    for _ in range(rng.randint(2, 5)):
        stops = [",", rng.choice(",;:"), ",", rng.choice("...!")]
        ends = zip(rhyme_words(rng, scheme), stops, strict=True)
        lines = [verse_line(rng, rhyme, stop) for rhyme, stop in ends]
        if refrain:
            lines.append("  " + refrain)  # an indented refrain closes every stanza of the poem
        stanzas.append("\n".join(lines))
    return fill(rng, rng.choice(TITLES)) + "\n\n" + "\n\n".join(stanzas) + "\n\n\n"


def scene(rng: random.Random) -> str:
    """A short play: speaker names in capitals, rhymed speeches, stage directions in [brackets]."""
    cast = rng.sample(NAMES, rng.choice([2, 2, 3]))
    title = fill(rng, rng.choice(SCENE_TITLES))
    out = [title, "", f"[Enter {', '.join(cast[:-1])} and {cast[-1]}.]"]
    speaker = None
    for _ in range(rng.randint(4, 9)):
        speaker = rng.choice([c for c in cast if c != speaker])
        other = rng.choice([c for c in cast if c != speaker])
        out.append(speaker.upper() + ".")
        if rng.random() < 0.15:
            out.append("[Aside.]")
        first, second = rhyme_words(rng, "AA")
        opener = fill(rng, rng.choice(OPENERS), other=other) if rng.random() < 0.4 else ""
        if rng.random() < 0.7:  # mostly a rhyming couplet, sometimes a single line
            out += [verse_line(rng, first, ",", opener, name=other),
                    verse_line(rng, second, rng.choice(".!."), name=other)]
        else:
            out.append(verse_line(rng, first, ".", opener, name=other))
        if rng.random() < 0.2:
            action = fill(rng, rng.choice(ACTIONS))
            out.append(rng.choice(CUES) if rng.random() < 0.4 else f"[{speaker} {action}.]")
    out.append(rng.choice(["[Exeunt.]", f"[Exit {speaker}.]"]))
    return "\n".join(out) + "\n\n\n"


def verse(rng: random.Random) -> Iterator[str]:
    while True:
        yield scene(rng) if rng.random() < 0.25 else poem(rng)


# ------------------------------------------------------------------ code.txt

C_NOUN = """buffer record token ledger queue frame node packet cursor batch header entry column
    sample window span bucket route cache shard channel block""".split()
C_VERB = """load parse merge count render split flush scan build check resolve apply collect encode
    decode fetch store sort trim emit""".split()
C_PREFIX = "next last total raw pending active local first spare".split()
C_ATTR = "size name weight offset count parent flags key value status limit depth".split()
C_STR = "ready closed pending empty stale missing open full done utf-8 default".split()
NUMS = "0 1 2 8 16 64 100 255 1024".split()
EXCEPTIONS = "KeyError ValueError IndexError OSError TimeoutError".split()
IMPORTS = ["import os", "import json", "import time", "import itertools",
           "from collections import deque", "from pathlib import Path"]
COMMENTS = [
    "keep the cache small so lookups stay cheap", "the last {noun} may be partial; skip it",
    "TODO: batch these calls once the {noun} format settles", "guard against an empty {noun}",
    "order matters here: later {noun}s refer to earlier ones", "never mutate the caller's {noun}",
    "cheaper than sorting the whole {noun} list", "retry once; the {noun} store lags behind",
    "offsets are zero based, counts are not", "the {noun} was already checked by {verb}_{noun}()",
    "XXX: {verb}() runs twice on a cold start", "a {noun} without a {attr} is treated as stale",
    "see {verb}_{noun} for the inverse",
]
C_POOLS = {"noun": C_NOUN, "verb": C_VERB, "attr": C_ATTR}


def indent(lines: list[str]) -> list[str]:
    return ["    " + line if line else line for line in lines]


def expr(rng: random.Random, scope: list[str]) -> str:
    v, w, attr = rng.choice(scope), rng.choice(scope), rng.choice(C_ATTR)
    return rng.choice([
        lambda: v, lambda: rng.choice(NUMS), lambda: f"{v}.{attr}", lambda: f"len({v})",
        lambda: f"{v}[{rng.choice(['0', '-1', '1:', ':4', w])}]",
        lambda: f"{v} * {rng.randint(2, 9)} + {rng.randint(1, 9)}",
        lambda: f"{rng.choice(C_VERB)}_{rng.choice(C_NOUN)}({v}, {w})",
        lambda: f'{{"{attr}": {v}, "{rng.choice(C_ATTR)}": {rng.randint(0, 99)}}}',
        lambda: f"[x.{attr} for x in {v} if x]", lambda: f'"{rng.choice(C_STR)}"',
        lambda: f"min({v}, {rng.choice(NUMS)})", lambda: f"{v}.get({rng.choice(C_STR)!r})",
    ])()


def cond(rng: random.Random, scope: list[str]) -> str:
    v, w, attr = rng.choice(scope), rng.choice(scope), rng.choice(C_ATTR)
    return rng.choice([f"{v} > {rng.choice(NUMS)}", f"not {v}", f"{v} is None", f"{v} in {w}",
                       f"len({v}) >= {rng.choice(NUMS[1:])}", f"{v} and not {w}.{attr}",
                       f'{v}.{attr} == "{rng.choice(C_STR)}"'])


def block(rng: random.Random, scope: list[str], depth: int, most: int = 3) -> list[str]:
    return [line for _ in range(rng.randint(1, most)) for line in statement(rng, scope, depth)]


def statement(rng: random.Random, scope: list[str], depth: int) -> list[str]:
    kinds = ["assign"] * 5 + ["aug", "call", "call", "call", "comment", "log", "raise"]
    if depth < 2:  # deeper nesting would make samples mostly whitespace
        kinds += ["if", "if", "for", "for", "while", "try"]
    kind, v = rng.choice(kinds), rng.choice(scope)
    noun, attr = rng.choice(C_NOUN), rng.choice(C_ATTR)
    if kind == "assign":
        name = f"{rng.choice(C_PREFIX)}_{rng.choice(C_NOUN)}"
        line = f"{name} = {expr(rng, scope)}"
        scope.append(name)
        return [line]
    if kind == "aug":
        return [f"{v} {rng.choice(['+=', '-=', '|='])} {expr(rng, scope)}"]
    if kind == "call":
        return [f"{v}.{rng.choice(C_VERB + ['append', 'extend'])}({expr(rng, scope)})"]
    if kind == "comment":  # a comment always precedes code, so no block is only a comment
        return ["# " + fill(rng, rng.choice(COMMENTS), C_POOLS)] + statement(rng, scope, depth)
    if kind == "log":
        level = rng.choice(["debug", "info", "warning"])
        return [f'log.{level}("{noun} %s: %d", {v}, {expr(rng, scope)})']
    if kind == "raise":
        return [f"if {v} is None:", f'    raise ValueError("missing {noun} {attr}")']
    body = indent(block(rng, scope + [noun] if kind == "for" else scope[:], depth + 1))
    if kind == "if":
        out = [f"if {cond(rng, scope)}:"] + body
        if rng.random() < 0.3:
            out += [f"elif {cond(rng, scope)}:"] + indent(block(rng, scope[:], depth + 1))
        if rng.random() < 0.4:
            out += ["else:"] + indent(block(rng, scope[:], depth + 1))
        return out
    if kind == "for":
        return [f"for {noun} in {v}:"] + body
    if kind == "while":
        return [f"while {cond(rng, scope)}:"] + body + ["    break"] * (rng.random() < 0.5)
    verb = rng.choice(C_VERB)
    handler = rng.choice(["return None", "pass",
                          f'raise RuntimeError(f"cannot {verb} {{{v}!r}}") from exc'])
    return ["try:"] + body + [f"except {rng.choice(EXCEPTIONS)} as exc:", "    " + handler]


def function(rng: random.Random, method: bool = False) -> list[str]:
    verb, noun = rng.choice(C_VERB), rng.choice(C_NOUN)
    params = rng.sample([n for n in C_NOUN if n != noun], rng.randint(1, 3))
    scope = (["self"] if method else []) + params
    default = [f"limit={rng.choice(NUMS[1:])}"] if rng.random() < 0.3 else []
    doc = rng.choice([f"{verb.capitalize()} the {noun} from {a(params[0])}.",
                      f"Return the {noun} once every {params[-1]} is done.",
                      f"{verb.capitalize()} {plural(noun)}; a bad {params[0]} is a ValueError."])
    body = [f'"""{doc}"""'] + block(rng, scope + ["limit"] * len(default), 0, most=6)
    body.append(f"return {expr(rng, scope)}")
    return [f"def {verb}_{noun}({', '.join(scope + default)}):"] + indent(body)


def klass(rng: random.Random) -> list[str]:
    first, second = rng.sample(C_NOUN, 2)
    attrs = rng.sample(C_ATTR, rng.randint(2, 4))
    body = [f'"""A {first} of {plural(second)}, kept in insertion order."""', "",
            f"def __init__(self, {', '.join(attrs)}):"] + indent([f"self.{x} = {x}" for x in attrs])
    for _ in range(rng.randint(1, 3)):
        body += [""] + function(rng, method=True)
    return [f"class {first.capitalize()}{second.capitalize()}:"] + indent(body)


def module(rng: random.Random) -> str:
    noun, verbs, has_main = rng.choice(C_NOUN), rng.sample(C_VERB, 3), rng.random() < 0.3
    name = f"{noun}_{rng.choice(['utils', 'store', 'io', 'core', 'tools'])}.py"
    doc = f"{noun.capitalize()} helpers: {verbs[0]}, {verbs[1]} and {verbs[2]} {plural(noun)}."
    imports = rng.sample(IMPORTS, rng.randint(0, 3)) + ["import logging"]
    imports += ["import sys"] if has_main else []  # the __main__ block below calls sys.exit
    lines = [f"# ==== {name} ====", f'"""{doc}"""', ""] + sorted(imports)
    lines += ["", "log = logging.getLogger(__name__)",
              f"MAX_{plural(noun).upper()} = {rng.choice(NUMS[3:])}", "", ""]
    for _ in range(rng.randint(2, 5)):
        lines += (klass(rng) if rng.random() < 0.3 else function(rng)) + ["", ""]
    if has_main:
        lines += ['if __name__ == "__main__":', f"    sys.exit({verbs[0]}_{noun}(sys.argv[1:]))"]
    return "\n".join(lines).rstrip("\n") + "\n\n\n"


def code(rng: random.Random) -> Iterator[str]:
    while True:
        yield module(rng)


# ------------------------------------------------------------------ records.txt

SKU_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I or O, as on printed labels
CARRIERS = "postmark swiftline coastal parcelnet".split()
COUNTRIES = "DE FR NL BE AT IT ES PL SE DK IE PT".split()
USERS = "ada bram cleo dmitri esme farid greta hugo ines jonas kemal lena milo nadia otto".split()
DECLINES = "insufficient_funds expired_card risk_check bank_unavailable".split()
METHODS = ["card", "card", "iban", "wallet"]
CURRENCIES = ["EUR", "EUR", "EUR", "GBP", "USD"]
FAILURES = ["gateway did not answer", "connection reset", "queue full"]


def records(rng: random.Random) -> Iterator[str]:
    """key=value log lines of a small shop; each order is paid, dispatched, delivered in turn."""
    clock, next_order = datetime(2023, 3, 1, 6, 0, 0), 104220
    created: dict[str, str] = {}  # order id -> total, waiting for payment
    paid: list[str] = []  # waiting for dispatch
    shipped: list[str] = []  # waiting for delivery
    while True:
        clock += timedelta(seconds=rng.randint(3, 900))
        roll, ok = rng.random(), rng.random() < 0.85
        level = "INFO" if ok else "WARN"
        if roll < 0.25 or not created:
            order, next_order, level = f"ORD-{next_order:06d}", next_order + 1, "INFO"
            created[order] = f"{rng.randint(4, 400)}.{rng.choice(['00', '50', '99', '95', '49'])}"
            fields = (f"svc=orders event=order.created order={order} "
                      f"customer=C{rng.randint(10000, 99999)} items={rng.randint(1, 9)} "
                      f"total={created[order]} currency={rng.choice(CURRENCIES)}")
        elif roll < 0.45:
            order = rng.choice(sorted(created))
            fields = (f"svc=billing event=payment.{'captured' if ok else 'declined'} order={order} "
                      f"amount={created.pop(order)} method={rng.choice(METHODS)}")
            if ok:
                paid.append(order)
            else:
                fields += f" reason={rng.choice(DECLINES)}"
        elif roll < 0.6 and shipped and (not paid or rng.random() < 0.5):
            level = "INFO" if rng.random() < 0.93 else "WARN"
            fields = (f"svc=shipping event=parcel.{'delivered' if level == 'INFO' else 'returned'} "
                      f"order={shipped.pop(0)} attempts={rng.choice([1, 1, 1, 2, 3])}")
        elif roll < 0.6 and paid:
            order, level = paid.pop(0), "INFO"
            shipped.append(order)
            fields = (f"svc=shipping event=parcel.dispatched order={order} "
                      f"carrier={rng.choice(CARRIERS)} weight_kg={rng.randint(1, 250) / 10:.1f} "
                      f"dest={rng.choice(COUNTRIES)}")
        elif roll < 0.8:
            ip = f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            fields = (f"svc=auth event=login.{'ok' if ok else 'failed'} "
                      f"user={rng.choice(USERS)}{rng.randint(1, 99)} ip={ip}")
        elif roll < 0.95:
            qty = rng.choice([0, 2, 5, 8] + list(range(10, 500, 7)))
            level = "WARN" if qty < 10 else "INFO"
            sku = "".join(rng.choice(SKU_LETTERS) for _ in range(3)) + f"-{rng.randint(10, 99)}"
            fields = (f"svc=inventory event=stock.{'low' if qty < 10 else 'counted'} sku=SKU-{sku} "
                      f"qty={qty} warehouse=WH-{rng.choice('ABCDEF')}{rng.randint(1, 4)}")
        else:
            level = "ERROR"
            fields = (f"svc={rng.choice(['billing', 'shipping', 'orders'])} event=upstream.timeout "
                      f'retry={rng.randint(1, 3)} msg="{rng.choice(FAILURES)}"')
        ms = rng.randint(30000, 30500) if level == "ERROR" else int(rng.expovariate(1 / 40)) + 2
        yield f"{clock:%Y-%m-%dT%H:%M:%SZ} level={level} {fields} ms={ms}\n"


# ------------------------------------------------------------------ multilingual.txt

# a small English phrase grammar, "translated" word by word into two invented languages
M_NOUN = "river fire moon fish apple bird grain leaf star bell house road door child stone".split()
M_ADJ = "cold old small bright quiet green".split()
M_VERB = "keeps sees finds carries hears".split()
EMOJI = {"river": "🌊", "fire": "🔥", "moon": "🌙", "fish": "🐟", "apple": "🍎", "bird": "🐦",
         "grain": "🌾", "leaf": "🌿", "star": "⭐"}
# (consonants, plain vowels, accented forms of each vowel, word endings)
VELUNIC = ("v l s t r n m d k qu ç ñ b".split(), "aeiou",
           {"a": "àåâ", "e": "éèë", "i": "îï", "o": "ôöø", "u": "ûü"}, ["", "n", "s"])
THALIC = ("θ λ μ ν κ σ τ π ρ δ γ φ χ ξ".split(), "αειουηω",
          dict(zip("αειουηω", "άέίόύήώ", strict=True)), ["", "ς", "ν"])


def invent_word(rng: random.Random, lang: tuple, syllables: int) -> str:
    consonants, vowels, accents, endings = lang
    parts = [rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)]
    i = rng.randrange(syllables)  # at most one accented (stressed) vowel per word, as in Greek
    if rng.random() < 0.7:
        parts[i] = parts[i][:-1] + rng.choice(accents[parts[i][-1]])
    return "".join(parts) + rng.choice(endings)


def multilingual(rng: random.Random) -> Iterator[str]:
    """A phrasebook: English sentences with their (consistent) Velunic and Thalic translations."""
    english = ["the"] + M_NOUN + M_ADJ + M_VERB
    vel = {w: invent_word(rng, VELUNIC, 1 if w == "the" else rng.randint(2, 3)) for w in english}
    tha = {w: invent_word(rng, THALIC, 1 if w == "the" else rng.randint(2, 3)) for w in english}
    yield "PHRASEBOOK OF VELUNIC AND THALIC\n\n"
    for n in itertools.count(1):
        (adj1, adj2), (noun1, noun2) = rng.sample(M_ADJ, 2), rng.sample(M_NOUN, 2)
        verb = rng.choice(M_VERB)
        en = f"the {adj1} {noun1} {verb} the {adj2} {noun2}"
        # Velunic puts adjectives after nouns; Thalic puts the verb last
        vl = " ".join(vel[w] for w in ["the", noun1, adj1, verb, "the", noun2, adj2])
        th = " ".join(tha[w] for w in ["the", adj1, noun1, "the", adj2, noun2, verb])
        kind = rng.choice(["statement", "question", "exclamation"])
        if kind == "question":
            base = verb[:-3] + "y" if verb.endswith("ies") else verb[:-1]  # "carries" -> "carry"
            en = f"does the {adj1} {noun1} {base} the {adj2} {noun2}?"
            vl, th = f"¿{vl}?", th + ";"  # Greek script writes ; for ?
        elif kind == "exclamation":
            en, vl, th = f"see, {en}!", f"¡{vl}!", f"«{th}»!"
        else:
            en, vl, th = en + ".", vl + ".", th + "."
        mark = EMOJI.get(noun1, "·")
        yield f"{mark} {n}. {en[0].upper()}{en[1:]}\n   vel: {vl}\n   tha: {th}\n\n"


# ------------------------------------------------------------------ main

# file name -> (builder, seed, size in bytes); a seed each, so editing one corpus spares the rest
CORPORA = {
    "verse.txt": (verse, 1001, 150_000),
    "code.txt": (code, 2002, 100_000),
    "records.txt": (records, 3003, 80_000),
    "multilingual.txt": (multilingual, 4004, 25_000),
}


def main() -> None:
    here = Path(__file__).resolve().parent
    for name, (build, seed, size) in CORPORA.items():
        text = take(build(random.Random(seed)), size).rstrip("\n") + "\n"  # one final newline
        data = text.encode("utf-8")
        (here / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        print(f"{name:17} {len(data):7} bytes {len(set(text)):4} distinct chars  sha256 {digest}")


if __name__ == "__main__":
    main()
