"""Templates of the knowledge-update scenarios: slots a person's facts change in, with paraphrases.

Each slot says how a value is stated, how a change is announced, and how the present, the past
and "ever" are asked about. The slots, templates and names are split in two disjoint halves: the
evaluation split (``asem-bench updates``) and the training split (``asem-train manager``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EVAL_SLOTS", "FILLER", "NAMES", "RELATIVES", "TRAIN_SLOTS", "Slot"]


@dataclass(frozen=True)
class Slot:
    """One kind of fact that changes.

    Attributes:
        name: Short name of the slot.
        values: Values the slot takes.
        state: Templates stating the value ``{v}`` in the first person.
        change: Templates announcing a change from ``{old}`` to ``{v}``.
        current: Questions about the present value.
        past: Questions about the value before ``{v}`` (the value that followed it).
        ever: Questions whether the person ever had ``{v}``.
        other: Templates of the same slot about someone else ``{who}`` (distractors).
    """

    name: str
    values: tuple[str, ...]
    state: tuple[str, ...]
    change: tuple[str, ...]
    current: tuple[str, ...]
    past: tuple[str, ...]
    ever: tuple[str, ...]
    other: tuple[str, ...]


EVAL_SLOTS: tuple[Slot, ...] = (
    Slot(
        "city",
        ("Berlin", "Munich", "Lisbon", "Toronto", "Osaka", "Denver", "Glasgow", "Valencia", "Krakow", "Austin"),
        ("I live in {v}.", "Home for me is {v} these days.", "I've been living in {v} for a while."),
        ("I just moved from {old} to {v}.", "Big news: I relocated to {v}, so no more {old} for me.", "We finally left {old} and settled in {v}."),
        ("Where do I live now?", "Which city am I living in these days?", "What city is my home at the moment?"),
        ("Where did I live before {v}?", "Which city was my home before I went to {v}?"),
        ("Did I ever live in {v}?", "Have I ever lived in {v}?"),
        ("My {who} lives in {v}.", "My {who} just moved to {v}."),
    ),
    Slot(
        "job",
        ("nurse", "data analyst", "carpenter", "high school teacher", "pilot", "pharmacist", "architect", "chef", "lawyer", "plumber"),
        ("I work as a {v}.", "My job: I'm a {v}.", "I earn my living as a {v}."),
        ("I quit being a {old} and started working as a {v}.", "Career change: I'm a {v} now instead of a {old}.", "I left my {old} job; I now work as a {v}."),
        ("What is my job now?", "What do I do for work these days?", "What's my current occupation?"),
        ("What did I work as before becoming a {v}?", "What was my job before I was a {v}?"),
        ("Did I ever work as a {v}?", "Was I ever a {v}?"),
        ("My {who} works as a {v}.", "My {who} became a {v}."),
    ),
    Slot(
        "pet",
        ("Biscuit", "Luna", "Pepper", "Mochi", "Rocky", "Nala", "Ziggy", "Clover", "Baxter", "Olive"),
        ("My dog is called {v}.", "I have a dog named {v}.", "{v} is the name of my dog."),
        ("We renamed our dog from {old} to {v}.", "Our dog isn't {old} anymore, we call him {v} now.", "The dog's new name is {v}; {old} never suited him."),
        ("What is my dog's name now?", "What do we call our dog these days?", "How is my dog called at present?"),
        ("What was my dog called before {v}?", "What name did my dog have before {v}?"),
        ("Was my dog ever called {v}?", "Did my dog ever have the name {v}?"),
        ("My {who}'s dog is called {v}.", "My {who} named a puppy {v}."),
    ),
    Slot(
        "partner",
        ("Daniel", "Priya", "Marco", "Sofia", "Kenji", "Amara", "Lukas", "Ines", "Omar", "Hannah"),
        ("I'm dating {v}.", "My partner is {v}.", "{v} and I are a couple."),
        ("{old} and I broke up; I'm seeing {v} now.", "I'm with {v} now, things with {old} are over.", "After {old}, my new partner is {v}."),
        ("Who is my partner now?", "Who am I dating at the moment?", "Who am I in a relationship with these days?"),
        ("Who was my partner before {v}?", "Who did I date before {v}?"),
        ("Did I ever date {v}?", "Was {v} ever my partner?"),
        ("My {who} is dating {v}.", "My {who}'s partner is {v}."),
    ),
    Slot(
        "drink",
        ("green tea", "espresso", "oat latte", "hot chocolate", "chai", "cold brew", "matcha", "rooibos", "flat white", "mint tea"),
        ("My favourite drink is {v}.", "I always order {v}.", "Nothing beats {v} for me."),
        ("I switched from {old} to {v}.", "These days I prefer {v} over {old}.", "I'm off {old}; {v} is my drink now."),
        ("What is my favourite drink now?", "What do I like to drink these days?", "Which drink do I prefer at the moment?"),
        ("What was my favourite drink before {v}?", "What did I drink before I switched to {v}?"),
        ("Did I ever like {v}?", "Was {v} ever my favourite drink?"),
        ("My {who} loves {v}.", "My {who} always orders {v}."),
    ),
    Slot(
        "car",
        ("Volvo", "Toyota", "Tesla", "Subaru", "Fiat", "Mazda", "Skoda", "Honda", "Kia", "Peugeot"),
        ("I drive a {v}.", "My car is a {v}.", "I get around in my {v}."),
        ("I sold my {old} and bought a {v}.", "Traded in the {old}; I drive a {v} now.", "My new car is a {v}, the {old} is gone."),
        ("What car do I drive now?", "Which car do I have these days?", "What is my current car?"),
        ("What car did I drive before the {v}?", "Which car did I own before the {v}?"),
        ("Did I ever drive a {v}?", "Have I ever owned a {v}?"),
        ("My {who} drives a {v}.", "My {who} bought a {v}."),
    ),
    Slot(
        "phone",
        ("555-0142", "555-0199", "555-0173", "555-0128", "555-0186", "555-0111", "555-0164", "555-0135", "555-0157", "555-0190"),
        ("My phone number is {v}.", "You can reach me at {v}.", "Call me on {v}."),
        ("Correction: my number is {v}, not {old}.", "I got a new phone number, {v}; {old} no longer works.", "My number changed from {old} to {v}."),
        ("What is my phone number now?", "What number can I be reached at these days?", "Which phone number is current for me?"),
        ("What was my phone number before {v}?", "Which number did I have before {v}?"),
        ("Was {v} ever my phone number?", "Did I ever have the number {v}?"),
        ("My {who}'s number is {v}.", "You can reach my {who} at {v}."),
    ),
    Slot(
        "trip",
        ("Iceland", "Peru", "Japan", "Morocco", "Norway", "Vietnam", "Chile", "Greece", "Kenya", "Portugal"),
        ("I'm planning a trip to {v} next summer.", "Next summer's holiday will be in {v}.", "I booked a vacation to {v} for the summer."),
        (
            "The {old} trip is cancelled; we're going to {v} instead.",
            "Change of plans: {v} instead of {old} this summer.",
            "I cancelled {old} and booked {v} for the summer.",
        ),
        ("Where am I going on holiday this summer?", "Which country is my summer trip to now?", "Where is my planned vacation now?"),
        ("Where was I planning to travel before choosing {v}?", "Which trip did I plan before {v}?"),
        ("Did I ever plan a trip to {v}?", "Was {v} ever my holiday plan?"),
        ("My {who} is travelling to {v} this summer.", "My {who} booked a trip to {v}."),
    ),
    Slot(
        "sport",
        ("tennis", "swimming", "rock climbing", "yoga", "boxing", "cycling", "rowing", "badminton", "judo", "surfing"),
        ("I do {v} twice a week.", "My sport is {v}.", "I spend my weekends doing {v}."),
        ("I gave up {old} and took up {v}.", "No more {old}; I'm into {v} now.", "I switched sports from {old} to {v}."),
        ("Which sport do I do now?", "What sport am I into these days?", "What do I do for exercise at the moment?"),
        ("Which sport did I do before {v}?", "What was my sport before {v}?"),
        ("Did I ever do {v}?", "Have I ever practised {v}?"),
        ("My {who} does {v}.", "My {who} took up {v}."),
    ),
    Slot(
        "employer",
        ("Acme Corp", "Globex", "Initech", "Umbrella Labs", "Stark Logistics", "Wayne Foods", "Hooli", "Vandelay Imports", "Soylent Co", "Tyrell Systems"),
        ("I work at {v}.", "My employer is {v}.", "I've got a position at {v}."),
        ("I left {old} and joined {v}.", "New job: I'm at {v} now, not {old}.", "I moved from {old} to {v} this month."),
        ("Where do I work now?", "Which company employs me these days?", "Who is my current employer?"),
        ("Where did I work before {v}?", "Which company did I work for before {v}?"),
        ("Did I ever work at {v}?", "Was I ever employed by {v}?"),
        ("My {who} works at {v}.", "My {who} got hired by {v}."),
    ),
)

TRAIN_SLOTS: tuple[Slot, ...] = (
    Slot(
        "gym",
        ("Iron Temple", "FitHub", "Pulse Gym", "Core Studio", "Peak Fitness", "Lift Club"),
        ("I train at {v}.", "My gym is {v}."),
        ("I cancelled {old} and signed up at {v}.", "I train at {v} now instead of {old}."),
        ("Which gym do I go to now?", "Where do I work out these days?"),
        ("Which gym did I use before {v}?",),
        ("Was I ever a member of {v}?",),
        ("My {who} trains at {v}.",),
    ),
    Slot(
        "language",
        ("Spanish", "Mandarin", "German", "Arabic", "Italian", "Korean"),
        ("I'm learning {v}.", "I study {v} in the evenings."),
        ("I dropped {old} and started learning {v}.", "I'm studying {v} now rather than {old}."),
        ("Which language am I learning now?", "What language do I study these days?"),
        ("Which language did I learn before {v}?",),
        ("Did I ever study {v}?",),
        ("My {who} is learning {v}.",),
    ),
    Slot(
        "diet",
        ("vegetarian", "vegan", "pescatarian", "keto", "gluten-free", "omnivore"),
        ("I eat a {v} diet.", "I'm {v}."),
        ("I stopped being {old}; I'm {v} now.", "I changed my diet from {old} to {v}."),
        ("What diet do I follow now?", "How do I eat these days?"),
        ("What diet did I follow before going {v}?",),
        ("Was I ever {v}?",),
        ("My {who} is {v}.",),
    ),
    Slot(
        "instrument",
        ("piano", "violin", "drums", "cello", "guitar", "flute"),
        ("I play the {v}.", "My instrument is the {v}."),
        ("I stopped playing the {old} and started the {v}.", "I play the {v} now instead of the {old}."),
        ("Which instrument do I play now?", "What instrument am I playing these days?"),
        ("Which instrument did I play before the {v}?",),
        ("Did I ever play the {v}?",),
        ("My {who} plays the {v}.",),
    ),
)

NAMES: dict[str, tuple[str, ...]] = {
    "eval": ("Maya", "Jonas", "Leila", "Tomas", "Aiko", "Ben", "Carla", "Dev", "Elena", "Felix", "Grace", "Hugo"),
    "train": ("Nora", "Omar", "Petra", "Quinn", "Rafael", "Sana"),
}

RELATIVES: dict[str, tuple[str, ...]] = {
    "eval": ("brother", "sister", "cousin", "neighbour", "best friend", "colleague"),
    "train": ("uncle", "aunt", "roommate", "mentor"),
}

FILLER: tuple[str, ...] = (
    "The weather was lovely this morning.",
    "I watched a documentary about octopuses last night.",
    "Work has been really busy this week.",
    "I finally finished that thousand-piece puzzle.",
    "The bakery on the corner has amazing croissants.",
    "I need to remember to water the plants.",
    "We had a long chat about the election over dinner.",
    "My laptop battery barely lasts two hours now.",
    "I started reading a mystery novel on the train.",
    "The concert tickets sold out in ten minutes.",
    "I spent the afternoon cleaning out the garage.",
    "There was a huge traffic jam on the bridge today.",
    "I tried a new pasta recipe with lemon and capers.",
    "Our team won the quiz night at the pub.",
    "I'm thinking about repainting the kitchen.",
    "The museum had a great exhibit on ancient maps.",
    "I slept badly because of the thunderstorm.",
    "I've been trying to drink more water.",
    "The kids built a snowman in the park.",
    "I fixed the squeaky door hinge at last.",
)
