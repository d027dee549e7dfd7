"""Captions for the zero-shot audio–text model: class phrases, templates, the held-out classes,
and the GloVe tokeniser/pooling shared with the app (src/core/textEncoder.ts must match)."""
import math
import os
import random

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ZS_DIR = os.path.normpath(os.path.join(HERE, "..", "esc50-zs"))

# 10 classes held out entirely from the zero-shot model's training (2 per ESC-50 category):
# their clips are never seen and their names/phrases never appear in a training caption.
HELD_OUT = ["cat", "hen", "thunderstorm", "water_drops", "coughing", "laughing",
            "keyboard_typing", "glass_breaking", "airplane", "hand_saw"]

# Phrases per class: the class name first (the prompt used for zero-shot evaluation), then
# synonyms and descriptions.
PHRASES = {
    "dog": ["dog", "dog barking", "a barking dog", "puppy", "barking", "hound"],
    "rooster": ["rooster", "rooster crowing", "cockerel", "a crowing rooster", "farm rooster at dawn"],
    "pig": ["pig", "pig grunting", "grunting pig", "hog", "swine"],
    "cow": ["cow", "cow mooing", "cattle", "a mooing cow", "bull"],
    "frog": ["frog", "frog croaking", "toad", "croaking frogs", "frogs in a pond"],
    "cat": ["cat", "cat meowing", "kitten", "a meowing cat", "purring cat"],
    "hen": ["hen", "hen clucking", "chicken", "clucking chickens", "poultry"],
    "insects": ["insects", "buzzing insects", "flies buzzing", "bees", "mosquito"],
    "sheep": ["sheep", "sheep bleating", "lamb", "a bleating sheep", "goat"],
    "crow": ["crow", "crow cawing", "raven", "cawing crows", "crows"],
    "rain": ["rain", "rain falling", "raindrops", "heavy rain", "drizzle"],
    "sea_waves": ["sea waves", "ocean waves", "waves crashing", "surf", "beach"],
    "crackling_fire": ["crackling fire", "fire", "campfire", "burning wood", "fireplace"],
    "crickets": ["crickets", "crickets chirping", "cricket", "chirping crickets at night", "cicadas"],
    "chirping_birds": ["chirping birds", "birds", "birdsong", "birds singing", "songbirds"],
    "water_drops": ["water drops", "dripping water", "drops", "drip", "a dripping tap"],
    "wind": ["wind", "wind blowing", "gusts", "windy weather", "breeze"],
    "pouring_water": ["pouring water", "water pouring", "filling a glass", "pouring", "water splashing"],
    "toilet_flush": ["toilet flush", "flushing toilet", "toilet", "flush", "bathroom toilet"],
    "thunderstorm": ["thunderstorm", "thunder", "storm", "lightning and thunder", "rumbling thunder"],
    "crying_baby": ["crying baby", "baby crying", "infant", "a baby", "newborn wailing"],
    "sneezing": ["sneezing", "sneeze", "someone sneezing", "a person sneezes", "sneezes"],
    "clapping": ["clapping", "applause", "hands clapping", "people clapping", "claps"],
    "breathing": ["breathing", "breath", "heavy breathing", "inhale and exhale", "panting"],
    "coughing": ["coughing", "cough", "someone coughing", "a person coughs", "hacking cough"],
    "footsteps": ["footsteps", "walking", "steps", "someone walking", "shoes on a floor"],
    "laughing": ["laughing", "laughter", "people laughing", "giggling", "a person laughs"],
    "brushing_teeth": ["brushing teeth", "toothbrush", "teeth brushing", "brushing", "scrubbing teeth"],
    "snoring": ["snoring", "snore", "someone snoring", "a sleeping man snores", "sleeping"],
    "drinking_sipping": ["drinking sipping", "drinking", "sipping", "gulping", "slurping a drink"],
    "door_wood_knock": ["door wood knock", "knocking", "knock on a door", "door knocking", "knocks"],
    "mouse_click": ["mouse click", "clicking", "computer mouse", "clicks", "mouse"],
    "keyboard_typing": ["keyboard typing", "typing", "keyboard", "typewriter", "someone typing"],
    "door_wood_creaks": ["door wood creaks", "creaking door", "creak", "squeaky hinge", "door opening slowly"],
    "can_opening": ["can opening", "opening a can", "soda can", "can", "fizzing drink"],
    "washing_machine": ["washing machine", "laundry", "washer", "machine spinning", "appliance"],
    "vacuum_cleaner": ["vacuum cleaner", "vacuum", "hoover", "vacuuming", "cleaning the carpet"],
    "clock_alarm": ["clock alarm", "alarm", "alarm clock", "ringing alarm", "beeping alarm"],
    "clock_tick": ["clock tick", "ticking clock", "ticking", "clock", "tick tock"],
    "glass_breaking": ["glass breaking", "broken glass", "glass shattering", "shattering", "smashing a window"],
    "helicopter": ["helicopter", "helicopter rotor", "chopper", "a helicopter flying", "rotor blades"],
    "chainsaw": ["chainsaw", "chain saw", "chainsaw cutting wood", "lumberjack", "logging"],
    "siren": ["siren", "police siren", "ambulance", "emergency siren", "fire engine siren"],
    "car_horn": ["car horn", "honking", "horn", "a car honks", "traffic horn"],
    "engine": ["engine", "motor", "car engine", "engine running", "idling engine"],
    "train": ["train", "train passing", "railway", "locomotive", "subway"],
    "church_bells": ["church bells", "bells", "bell ringing", "church bell", "chimes"],
    "airplane": ["airplane", "aeroplane", "jet", "plane flying", "aircraft"],
    "fireworks": ["fireworks", "firecrackers", "explosions", "fireworks display", "bangs"],
    "hand_saw": ["hand saw", "sawing", "saw", "sawing wood", "carpenter"],
}

TEMPLATES = ["{}", "{}", "the sound of {}", "a recording of {}", "{} nearby", "{} in the background",
             "i can hear {}", "{} outside", "a loud {}", "a quiet {}"]
MIX_TEMPLATES = ["{} and {}", "{} with {} in the background", "the sound of {} and {}", "{} mixed with {}"]


def caption(labels, cls, rng: random.Random) -> str:
    """A random caption for one class (index into labels)."""
    return rng.choice(TEMPLATES).format(rng.choice(PHRASES[labels[cls]]))


def mix_caption(labels, a, b, rng: random.Random) -> str:
    """A random caption naming both sources of a two-source mixture."""
    return rng.choice(MIX_TEMPLATES).format(rng.choice(PHRASES[labels[a]]), rng.choice(PHRASES[labels[b]]))


def class_prompt(label: str) -> str:
    """The zero-shot evaluation prompt of a class: its name."""
    return label.replace("_", " ")


class Vocab:
    """The shipped vocabulary (models/esc50-zs/vocab.{txt,bin}) and the tokeniser/pooling rule:
    lowercase, tokens = maximal runs of a-z of length >= 2, words outside the vocabulary ignored, pooled vector =
    SIF-weighted mean, weight(rank) = a / (a + 1 / ((rank + 1)·Z))."""

    SIF_A = 1e-3
    ZIPF_Z = 13.3

    def __init__(self, zs_dir: str = ZS_DIR):
        self.words = open(os.path.join(zs_dir, "vocab.txt")).read().split("\n")[:-1]
        n = len(self.words)
        raw = open(os.path.join(zs_dir, "vocab.bin"), "rb").read()
        scales = np.frombuffer(raw, dtype="<f4", count=n)
        vals = np.frombuffer(raw, dtype=np.int8, offset=4 * n).reshape(n, -1)
        self.vectors = (vals.astype(np.float32) * scales[:, None]).astype(np.float32)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.dim = self.vectors.shape[1]

    def weight(self, rank: int) -> float:
        return self.SIF_A / (self.SIF_A + 1.0 / ((rank + 1) * self.ZIPF_Z))

    def tokens(self, text: str):
        import re
        return re.findall(r"[a-z]{2,}", text.lower())

    def pool(self, text: str) -> np.ndarray:
        """SIF-weighted mean GloVe vector of the known words (zeros if none is known)."""
        acc = np.zeros(self.dim, dtype=np.float64); wsum = 0.0
        for t in self.tokens(text):
            r = self.index.get(t)
            if r is None:
                continue
            w = self.weight(r)
            acc += w * self.vectors[r]; wsum += w
        return (acc / wsum).astype(np.float32) if wsum > 0 else acc.astype(np.float32)

    def unknown(self, text: str):
        return [t for t in self.tokens(text) if t not in self.index]
