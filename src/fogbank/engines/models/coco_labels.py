"""COCO's 80 detection classes as Rekognition-style labels: a name, all its ancestors, a category, aliases.

The object detector names what it boxes in COCO's words ("dining table", "cell phone", "tv"); DetectLabels
names it as people search for it ("Dining Table" under "Furniture" and "Table", "Mobile Phone", "TV").
Labels that the ImageNet classifier also gives (``vision_taxonomy``) take their parents and category from
there, so a cat found by both carries one set of parents. A detected object also makes each of its
ancestors a label (as AWS lists parents as labels too), with the object's confidence and no boxes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fogbank.engines.models import vision_taxonomy as taxonomy
from fogbank.engines.models.objects import Detection

# COCO class -> (label, direct parents, category, aliases). Ancestors above the direct parents come from
# PARENTS below or from vision_taxonomy.
CLASSES: dict[str, tuple[str, tuple[str, ...], str, tuple[str, ...]]] = {
    "person": ("Person", (), "Person Description", ("Human",)),
    "bicycle": ("Bicycle", ("Transportation", "Vehicle"), "Vehicles and Automotive", ("Bike",)),
    "car": ("Car", ("Transportation", "Vehicle"), "Vehicles and Automotive", ("Automobile",)),
    "motorcycle": ("Motorcycle", ("Transportation", "Vehicle"), "Vehicles and Automotive", ("Motorbike",)),
    "airplane": ("Airplane", ("Aircraft",), "Vehicles and Automotive", ("Aeroplane",)),
    "bus": ("Bus", ("Transportation", "Vehicle"), "Vehicles and Automotive", ()),
    "train": ("Train", ("Transportation", "Vehicle"), "Vehicles and Automotive", ()),
    "truck": ("Truck", ("Transportation", "Vehicle"), "Vehicles and Automotive", ("Lorry",)),
    "boat": ("Boat", ("Transportation", "Vehicle"), "Vehicles and Automotive", ()),
    "traffic light": ("Traffic Light", ("Light",), "Transport and Logistics", ()),
    "fire hydrant": ("Fire Hydrant", ("Hydrant",), "Public Safety", ()),
    "stop sign": ("Stop Sign", ("Road Sign",), "Transport and Logistics", ()),
    "parking meter": ("Parking Meter", (), "Transport and Logistics", ()),
    "bench": ("Bench", ("Furniture",), "Furniture and Furnishings", ()),
    "bird": ("Bird", ("Animal",), "Animals and Pets", ()),
    "cat": ("Cat", ("Animal", "Mammal", "Pet"), "Animals and Pets", ()),
    "dog": ("Dog", ("Animal", "Canine", "Mammal", "Pet"), "Animals and Pets", ()),
    "horse": ("Horse", ("Animal", "Mammal"), "Animals and Pets", ()),
    "sheep": ("Sheep", ("Animal", "Livestock", "Mammal"), "Animals and Pets", ()),
    "cow": ("Cow", ("Cattle",), "Animals and Pets", ()),
    "elephant": ("Elephant", ("Animal", "Mammal", "Wildlife"), "Animals and Pets", ()),
    "bear": ("Bear", ("Animal", "Mammal", "Wildlife"), "Animals and Pets", ()),
    "zebra": ("Zebra", ("Animal", "Mammal", "Wildlife"), "Animals and Pets", ()),
    "giraffe": ("Giraffe", ("Animal", "Mammal", "Wildlife"), "Animals and Pets", ()),
    "backpack": ("Backpack", ("Bag",), "Apparel and Accessories", ()),
    "umbrella": ("Umbrella", ("Canopy",), "Everyday Objects", ()),
    "handbag": ("Handbag", ("Bag",), "Apparel and Accessories", ("Purse",)),
    "tie": ("Tie", ("Accessories", "Formal Wear"), "Apparel and Accessories", ("Necktie",)),
    "suitcase": ("Suitcase", ("Luggage",), "Travel and Adventure", ()),
    "frisbee": ("Frisbee", ("Toy",), "Hobbies and Interests", ()),
    "skis": ("Ski", ("Sport",), "Sports", ()),
    "snowboard": ("Snowboard", ("Sport",), "Sports", ()),
    "sports ball": ("Ball", ("Sport",), "Sports", ("Sports Ball",)),
    "kite": ("Kite", ("Toy",), "Hobbies and Interests", ()),
    "baseball bat": ("Baseball Bat", ("Sport",), "Sports", ()),
    "baseball glove": ("Baseball Glove", ("Glove", "Sport"), "Sports", ()),
    "skateboard": ("Skateboard", ("Sport",), "Sports", ()),
    "surfboard": ("Surfboard", ("Sport",), "Sports", ()),
    "tennis racket": ("Racket", ("Sport",), "Sports", ("Tennis Racket",)),
    "bottle": ("Bottle", (), "Kitchen and Dining", ()),
    "wine glass": ("Wine Glass", ("Glass",), "Kitchen and Dining", ()),
    "cup": ("Cup", ("Beverage",), "Kitchen and Dining", ("Mug",)),
    "fork": ("Fork", ("Cutlery",), "Kitchen and Dining", ()),
    "knife": ("Knife", ("Cutlery",), "Kitchen and Dining", ()),
    "spoon": ("Spoon", ("Cutlery",), "Kitchen and Dining", ()),
    "bowl": ("Bowl", (), "Kitchen and Dining", ()),
    "banana": ("Banana", ("Fruit",), "Food and Beverage", ()),
    "apple": ("Apple", ("Fruit",), "Food and Beverage", ()),
    "sandwich": ("Sandwich", ("Food", "Meal"), "Food and Beverage", ()),
    "orange": ("Orange", ("Citrus Fruit",), "Food and Beverage", ()),
    "broccoli": ("Broccoli", ("Vegetable",), "Food and Beverage", ()),
    "carrot": ("Carrot", ("Vegetable",), "Food and Beverage", ()),
    "hot dog": ("Hot Dog", ("Food",), "Food and Beverage", ()),
    "pizza": ("Pizza", ("Food",), "Food and Beverage", ()),
    "donut": ("Donut", ("Dessert", "Sweets"), "Food and Beverage", ("Doughnut",)),
    "cake": ("Cake", ("Dessert",), "Food and Beverage", ()),
    "chair": ("Chair", ("Furniture",), "Furniture and Furnishings", ()),
    "couch": ("Couch", ("Furniture",), "Furniture and Furnishings", ("Sofa",)),
    "potted plant": ("Potted Plant", ("Plant",), "Plants and Flowers", ("Houseplant",)),
    "bed": ("Bed", ("Furniture",), "Furniture and Furnishings", ()),
    "dining table": ("Dining Table", ("Furniture", "Table"), "Furniture and Furnishings", ()),
    "toilet": ("Toilet", ("Bathroom",), "Home and Indoors", ()),
    "tv": ("TV", ("Electronics", "Screen"), "Technology and Computing", ("Television",)),
    "laptop": ("Laptop", ("Computer",), "Technology and Computing", ()),
    "mouse": ("Mouse", ("Computer Hardware",), "Technology and Computing", ("Computer Mouse",)),
    "remote": ("Remote Control", ("Electronics",), "Technology and Computing", ()),
    "keyboard": ("Computer Keyboard", ("Computer Hardware",), "Technology and Computing", ("Keyboard",)),
    "cell phone": ("Mobile Phone", ("Phone",), "Technology and Computing", ("Cell Phone",)),
    "microwave": ("Microwave", ("Appliance",), "Kitchen and Dining", ()),
    "oven": ("Oven", ("Appliance",), "Kitchen and Dining", ()),
    "toaster": ("Toaster", ("Appliance",), "Kitchen and Dining", ()),
    "sink": ("Sink", (), "Home and Indoors", ()),
    "refrigerator": ("Refrigerator", ("Appliance",), "Kitchen and Dining", ("Fridge",)),
    "book": ("Book", ("Publication",), "Text and Documents", ()),
    "clock": ("Clock", ("Device",), "Everyday Objects", ()),
    "vase": ("Vase", ("Home Decor", "Pottery"), "Home and Indoors", ()),
    "scissors": ("Scissors", ("Tool",), "Tools and Machinery", ()),
    "teddy bear": ("Teddy Bear", ("Toy",), "Hobbies and Interests", ()),
    "hair drier": ("Hair Dryer", ("Appliance",), "Beauty and Personal Care", ("Hair Drier",)),
    "toothbrush": ("Toothbrush", ("Brush",), "Beauty and Personal Care", ()),
}

# Parent labels that the ImageNet taxonomy does not define: label -> (direct parents, category).
PARENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "Light": ((), "Everyday Objects"),
    "Hydrant": ((), "Public Safety"),
    "Symbol": ((), "Text and Documents"),
    "Sign": (("Symbol",), "Text and Documents"),
    "Road Sign": (("Sign",), "Transport and Logistics"),
    "Canopy": ((), "Everyday Objects"),
    "Luggage": ((), "Travel and Adventure"),
    "Formal Wear": (("Clothing",), "Apparel and Accessories"),
    "Glove": (("Clothing",), "Apparel and Accessories"),
    "Toy": ((), "Hobbies and Interests"),
    "Glass": ((), "Kitchen and Dining"),
    "Cutlery": (("Kitchen Utensil",), "Kitchen and Dining"),
    "Citrus Fruit": (("Fruit",), "Food and Beverage"),
    "Sweets": (("Food",), "Food and Beverage"),
    "Bathroom": (("Indoors",), "Home and Indoors"),
    "Indoors": ((), "Home and Indoors"),
    "Screen": (("Electronics",), "Technology and Computing"),
    "Computer Hardware": (("Electronics", "Hardware"), "Technology and Computing"),
    "Hardware": ((), "Technology and Computing"),
    "Publication": ((), "Text and Documents"),
    "Pottery": ((), "Home and Indoors"),
    "Brush": (("Tool",), "Tools and Machinery"),
}


@dataclass
class ObjectLabel:
    """A label that detected objects support: its instances (normalised box, confidence) and its family."""

    name: str
    confidence: float
    parents: list[str]
    category: str
    aliases: list[str] = field(default_factory=list)
    instances: list[tuple[dict[str, float], float]] = field(default_factory=list)


def direct_parents(label: str) -> tuple[str, ...]:
    if label in PARENTS:
        return PARENTS[label][0]
    return taxonomy.parents(label)


def ancestors(label: str, first: tuple[str, ...] | None = None) -> list[str]:
    """Every ancestor, nearest first, each once (AWS lists all of them, not only the direct parents)."""
    out: list[str] = []
    pending = list(direct_parents(label) if first is None else first)
    while pending:
        item = pending.pop(0)
        if item not in out:
            out.append(item)
            pending.extend(direct_parents(item))
    return out


def category(label: str) -> str:
    if label in PARENTS:
        return PARENTS[label][1]
    return taxonomy.category(label)


def object_labels(detections: list[Detection], width: int, height: int) -> list[ObjectLabel]:
    """Labels with instances for the detected classes, then their ancestors without instances.

    A label's confidence is that of its best instance; an ancestor's is that of its best descendant.
    Detections of classes outside COCO's 80 are ignored.
    """
    found: dict[str, ObjectLabel] = {}
    for detection in sorted(detections, key=lambda d: -d.score):
        entry = CLASSES.get(detection.name)
        if entry is None:
            continue
        name, parents, cat, aliases = entry
        confidence = round(detection.confidence, 4)
        label = found.get(name)
        if label is None:
            label = found[name] = ObjectLabel(name, confidence, ancestors(name, parents), cat, list(aliases))
        label.instances.append((detection.bounding_box(width, height), confidence))
    families: dict[str, ObjectLabel] = {}
    for label in found.values():
        for parent in label.parents:
            if parent in found:
                found[parent].confidence = max(found[parent].confidence, label.confidence)
                continue
            known = families.get(parent)
            if known is None:
                families[parent] = ObjectLabel(parent, label.confidence, ancestors(parent), category(parent))
            else:
                known.confidence = max(known.confidence, label.confidence)
    return list(found.values()) + list(families.values())
