"""ImageNet's 1,000 classes mapped onto Rekognition-style labels: a general label, its parents, a category.

Rekognition names things at the level people search by ("Dog", "Car", "Cup") with parents above them
("Dog" -> "Canine", "Mammal", "Animal", "Pet") and a category ("Animals and Pets"). ImageNet names breeds
and models. Each class is mapped here to the general label it is an instance of; the class name itself
is kept as a more specific label whose parent is that general label. The animal classes follow ImageNet's
own WordNet ordering (index ranges); the object classes are listed by index. A class with no sensible
general label keeps only its own name.
"""

from __future__ import annotations

from dataclasses import dataclass

# label -> (parents, category)
LABELS: dict[str, tuple[tuple[str, ...], str]] = {
    "Animal": ((), "Animals and Pets"),
    "Mammal": (("Animal",), "Animals and Pets"),
    "Pet": (("Animal",), "Animals and Pets"),
    "Wildlife": (("Animal",), "Animals and Pets"),
    "Sea Life": (("Animal",), "Animals and Pets"),
    "Fish": (("Animal", "Sea Life"), "Animals and Pets"),
    "Shark": (("Animal", "Fish", "Sea Life"), "Animals and Pets"),
    "Bird": (("Animal",), "Animals and Pets"),
    "Poultry": (("Animal", "Bird"), "Animals and Pets"),
    "Penguin": (("Animal", "Bird"), "Animals and Pets"),
    "Amphibian": (("Animal",), "Animals and Pets"),
    "Frog": (("Amphibian", "Animal"), "Animals and Pets"),
    "Reptile": (("Animal",), "Animals and Pets"),
    "Turtle": (("Animal", "Reptile", "Sea Life"), "Animals and Pets"),
    "Lizard": (("Animal", "Reptile"), "Animals and Pets"),
    "Crocodile": (("Animal", "Reptile"), "Animals and Pets"),
    "Snake": (("Animal", "Reptile"), "Animals and Pets"),
    "Dinosaur": (("Animal", "Reptile"), "Animals and Pets"),
    "Invertebrate": (("Animal",), "Animals and Pets"),
    "Spider": (("Animal", "Invertebrate"), "Animals and Pets"),
    "Insect": (("Animal", "Invertebrate"), "Animals and Pets"),
    "Butterfly": (("Animal", "Insect", "Invertebrate"), "Animals and Pets"),
    "Crab": (("Animal", "Food", "Sea Life", "Seafood"), "Animals and Pets"),
    "Lobster": (("Animal", "Food", "Sea Life", "Seafood"), "Animals and Pets"),
    "Snail": (("Animal", "Invertebrate"), "Animals and Pets"),
    "Jellyfish": (("Animal", "Invertebrate", "Sea Life"), "Animals and Pets"),
    "Whale": (("Animal", "Mammal", "Sea Life"), "Animals and Pets"),
    "Canine": (("Animal", "Mammal"), "Animals and Pets"),
    "Dog": (("Animal", "Canine", "Mammal", "Pet"), "Animals and Pets"),
    "Wolf": (("Animal", "Canine", "Mammal", "Wildlife"), "Animals and Pets"),
    "Fox": (("Animal", "Canine", "Mammal", "Wildlife"), "Animals and Pets"),
    "Cat": (("Animal", "Mammal", "Pet"), "Animals and Pets"),
    "Big Cat": (("Animal", "Mammal", "Wildlife"), "Animals and Pets"),
    "Bear": (("Animal", "Mammal", "Wildlife"), "Animals and Pets"),
    "Rabbit": (("Animal", "Mammal", "Rodent"), "Animals and Pets"),
    "Rodent": (("Animal", "Mammal"), "Animals and Pets"),
    "Horse": (("Animal", "Mammal"), "Animals and Pets"),
    "Zebra": (("Animal", "Mammal", "Wildlife"), "Animals and Pets"),
    "Pig": (("Animal", "Mammal"), "Animals and Pets"),
    "Cattle": (("Animal", "Livestock", "Mammal"), "Animals and Pets"),
    "Livestock": (("Animal", "Mammal"), "Animals and Pets"),
    "Sheep": (("Animal", "Livestock", "Mammal"), "Animals and Pets"),
    "Antelope": (("Animal", "Mammal", "Wildlife"), "Animals and Pets"),
    "Camel": (("Animal", "Mammal"), "Animals and Pets"),
    "Primate": (("Animal", "Mammal", "Wildlife"), "Animals and Pets"),
    "Monkey": (("Animal", "Mammal", "Primate", "Wildlife"), "Animals and Pets"),
    "Elephant": (("Animal", "Mammal", "Wildlife"), "Animals and Pets"),
    "Panda": (("Animal", "Mammal", "Wildlife"), "Animals and Pets"),
    "Vehicle": (("Transportation",), "Vehicles and Automotive"),
    "Transportation": ((), "Vehicles and Automotive"),
    "Car": (("Transportation", "Vehicle"), "Vehicles and Automotive"),
    "Truck": (("Transportation", "Vehicle"), "Vehicles and Automotive"),
    "Bus": (("Transportation", "Vehicle"), "Vehicles and Automotive"),
    "Motorcycle": (("Transportation", "Vehicle"), "Vehicles and Automotive"),
    "Bicycle": (("Transportation", "Vehicle"), "Vehicles and Automotive"),
    "Train": (("Transportation", "Vehicle"), "Vehicles and Automotive"),
    "Boat": (("Transportation", "Vehicle"), "Vehicles and Automotive"),
    "Aircraft": (("Transportation", "Vehicle"), "Vehicles and Automotive"),
    "Wheel": (("Machine",), "Vehicles and Automotive"),
    "Rocket": (("Transportation", "Vehicle"), "Vehicles and Automotive"),
    "Machine": ((), "Tools and Machinery"),
    "Tool": ((), "Tools and Machinery"),
    "Weapon": ((), "Weapons and Military"),
    "Furniture": ((), "Furniture and Furnishings"),
    "Chair": (("Furniture",), "Furniture and Furnishings"),
    "Table": (("Furniture",), "Furniture and Furnishings"),
    "Bed": (("Furniture",), "Furniture and Furnishings"),
    "Electronics": ((), "Technology and Computing"),
    "Computer": (("Electronics",), "Technology and Computing"),
    "Phone": (("Electronics",), "Technology and Computing"),
    "Camera": (("Electronics",), "Technology and Computing"),
    "Appliance": (("Device",), "Home and Indoors"),
    "Device": ((), "Technology and Computing"),
    "Clothing": ((), "Apparel and Accessories"),
    "Hat": (("Accessories", "Clothing"), "Apparel and Accessories"),
    "Footwear": (("Clothing",), "Apparel and Accessories"),
    "Accessories": ((), "Apparel and Accessories"),
    "Helmet": (("Clothing", "Hardhat"), "Apparel and Accessories"),
    "Hardhat": (("Clothing",), "Apparel and Accessories"),
    "Musical Instrument": ((), "Hobbies and Interests"),
    "Building": (("Architecture",), "Buildings and Architecture"),
    "Architecture": ((), "Buildings and Architecture"),
    "Bridge": (("Architecture",), "Buildings and Architecture"),
    "Shop": (("Building",), "Buildings and Architecture"),
    "Food": ((), "Food and Beverage"),
    "Seafood": (("Food",), "Food and Beverage"),
    "Fruit": (("Food", "Plant", "Produce"), "Food and Beverage"),
    "Vegetable": (("Food", "Plant", "Produce"), "Food and Beverage"),
    "Produce": (("Food",), "Food and Beverage"),
    "Dish": (("Food", "Meal"), "Food and Beverage"),
    "Meal": (("Food",), "Food and Beverage"),
    "Bread": (("Food",), "Food and Beverage"),
    "Dessert": (("Food",), "Food and Beverage"),
    "Beverage": ((), "Food and Beverage"),
    "Coffee": (("Beverage",), "Food and Beverage"),
    "Alcohol": (("Beverage",), "Food and Beverage"),
    "Cup": (("Beverage",), "Kitchen and Dining"),
    "Bottle": ((), "Kitchen and Dining"),
    "Cookware": (("Kitchen Utensil",), "Kitchen and Dining"),
    "Kitchen Utensil": ((), "Kitchen and Dining"),
    "Ball": (("Sport",), "Sports"),
    "Sport": ((), "Sports"),
    "Fitness": (("Sport",), "Sports"),
    "Nature": ((), "Nature and Outdoors"),
    "Outdoors": (("Nature",), "Nature and Outdoors"),
    "Landscape": (("Nature", "Outdoors"), "Nature and Outdoors"),
    "Water": (("Nature", "Outdoors"), "Nature and Outdoors"),
    "Plant": ((), "Plants and Flowers"),
    "Flower": (("Plant",), "Plants and Flowers"),
    "Fungus": (("Plant",), "Plants and Flowers"),
    "Person": ((), "Person Description"),
    "Text": ((), "Text and Documents"),
    "Clock": (("Device",), "Everyday Objects"),
    "Container": ((), "Everyday Objects"),
    "Fence": (("Outdoors",), "Buildings and Architecture"),
    "Lamp": (("Furniture",), "Home and Indoors"),
    "Home Decor": ((), "Home and Indoors"),
    "Bag": (("Accessories",), "Apparel and Accessories"),
}

_RANGES: list[tuple[int, int, str]] = [
    (0, 1, "Fish"), (2, 4, "Shark"), (5, 6, "Fish"), (7, 8, "Poultry"), (9, 24, "Bird"), (25, 29, "Amphibian"),
    (30, 32, "Frog"), (33, 37, "Turtle"), (38, 48, "Lizard"), (49, 50, "Crocodile"), (51, 51, "Dinosaur"),
    (52, 68, "Snake"), (69, 71, "Invertebrate"), (72, 77, "Spider"), (78, 79, "Invertebrate"), (80, 100, "Bird"),
    (101, 101, "Elephant"), (102, 106, "Mammal"), (107, 107, "Jellyfish"), (108, 112, "Sea Life"),
    (113, 114, "Snail"), (115, 117, "Sea Life"), (118, 121, "Crab"), (122, 124, "Lobster"), (125, 125, "Crab"),
    (126, 126, "Invertebrate"), (127, 144, "Bird"), (145, 145, "Penguin"), (146, 146, "Bird"), (147, 148, "Whale"),
    (149, 150, "Sea Life"), (151, 268, "Dog"), (269, 272, "Wolf"), (273, 276, "Canine"), (277, 280, "Fox"),
    (281, 285, "Cat"), (286, 293, "Big Cat"), (294, 297, "Bear"), (298, 299, "Mammal"), (300, 320, "Insect"),
    (321, 326, "Butterfly"), (327, 329, "Sea Life"), (330, 332, "Rabbit"), (333, 338, "Rodent"), (339, 339, "Horse"),
    (340, 340, "Zebra"), (341, 343, "Pig"), (344, 344, "Mammal"), (345, 347, "Cattle"), (348, 349, "Sheep"),
    (350, 353, "Antelope"), (354, 355, "Camel"), (356, 364, "Mammal"), (365, 368, "Primate"), (369, 384, "Monkey"),
    (385, 386, "Elephant"), (387, 388, "Panda"), (389, 397, "Fish"),
    (924, 927, "Dish"), (928, 929, "Dessert"), (930, 932, "Bread"), (933, 935, "Dish"), (936, 947, "Vegetable"),
    (948, 957, "Fruit"), (958, 958, "Plant"), (959, 959, "Dish"), (960, 961, "Food"), (962, 965, "Dish"),
    (966, 966, "Alcohol"), (967, 967, "Coffee"), (968, 968, "Cup"), (969, 969, "Beverage"),
    (970, 972, "Landscape"), (973, 973, "Sea Life"), (974, 974, "Nature"), (975, 979, "Landscape"),
    (980, 980, "Landscape"), (981, 983, "Person"), (984, 986, "Flower"), (987, 990, "Plant"), (991, 997, "Fungus"),
    (998, 998, "Vegetable"), (999, 999, "Container"),
]

_OBJECTS: dict[str, tuple[int, ...]] = {
    "Car": (436, 468, 511, 609, 627, 656, 661, 717, 751, 817, 757),
    "Truck": (555, 569, 675, 864, 867, 734, 586, 847),
    "Bus": (654, 779, 874),
    "Motorcycle": (665, 670),
    "Bicycle": (444, 671, 870, 880),
    "Train": (466, 547, 565, 705, 820, 829),
    "Boat": (403, 472, 484, 510, 554, 576, 625, 628, 724, 780, 814, 833, 871, 913, 914, 694),
    "Aircraft": (404, 405, 417, 812, 895, 908),
    "Vehicle": (407, 408, 450, 537, 573, 575, 595, 603, 612, 690, 730, 802, 803, 856, 866, 561, 428, 791),
    "Wheel": (479, 535, 581),
    "Rocket": (657,),
    "Weapon": (413, 456, 471, 744, 763, 764, 777, 787, 499, 596, 666),
    "Chair": (423, 559, 765, 857),
    "Table": (526, 532, 736),
    "Bed": (431, 516, 520, 564),
    "Furniture": (453, 493, 495, 548, 703, 831, 894, 648, 492, 708),
    "Computer": (508, 527, 590, 620, 664, 673, 681, 810, 878, 662, 592),
    "Phone": (487, 528, 707),
    "Camera": (622, 732, 759, 872, 447),
    "Electronics": (482, 485, 605, 632, 650, 688, 713, 742, 745, 754, 761, 782, 848, 851, 481, 598, 613),
    "Appliance": (534, 545, 651, 760, 827, 859, 882, 891, 897, 811, 766, 786, 589, 550, 606, 753),
    "Clothing": (399, 400, 411, 443, 445, 459, 465, 474, 501, 524, 568, 578, 601, 608, 610, 614, 617, 652, 655,
                 689, 697, 735, 775, 834, 841, 842, 869, 887, 638, 639, 529, 490, 461, 796),
    "Hat": (433, 439, 452, 515, 667, 793, 808, 715),
    "Helmet": (518, 560),
    "Footwear": (502, 514, 630, 770, 774, 806),
    "Accessories": (451, 457, 464, 552, 584, 658, 679, 824, 836, 837, 893, 906, 903, 496),
    "Bag": (414, 636, 728, 748, 797, 790, 588),
    "Musical Instrument": (401, 402, 420, 432, 486, 494, 513, 541, 546, 558, 566, 577, 579, 593, 594, 641, 642,
                           683, 684, 687, 699, 776, 822, 875, 881, 889, 542),
    "Building": (410, 425, 442, 449, 483, 497, 498, 500, 580, 624, 663, 668, 698, 727, 743, 762, 832, 853, 858, 915,
                 660, 538, 634, 406),
    "Shop": (415, 424, 454, 467, 509, 582, 788, 860, 865),
    "Bridge": (821, 839, 888),
    "Architecture": (460, 525, 536, 540, 562, 682, 718, 873, 900, 437, 649, 863, 884, 706, 421),
    "Fence": (489, 716, 825, 912),
    "Cup": (504, 572, 441),
    "Bottle": (440, 720, 737, 898, 899, 901, 907),
    "Cookware": (469, 505, 521, 544, 567, 849, 909),
    "Kitchen Utensil": (473, 503, 512, 618, 647, 659, 809, 813, 828, 868, 910, 923, 729, 773),
    "Ball": (429, 430, 522, 574, 722, 768, 805, 852, 890, 746),
    "Fitness": (416, 422, 543, 602, 702, 747),
    "Sport": (752, 795, 801, 781),
    "Clock": (409, 530, 531, 604, 826, 835, 892),
    "Tool": (462, 477, 491, 587, 596, 600, 696, 714, 740, 769, 783, 784, 792, 517),
    "Lamp": (470, 619, 846, 818, 862),
    "Container": (412, 427, 463, 478, 519, 653, 756, 876, 883, 771, 709),
    "Text": (446, 549, 916, 917, 918, 919, 921, 922),
    "Home Decor": (539, 721, 750, 741, 794, 854, 905, 904, 799, 789),
}


@dataclass(frozen=True)
class ClassLabel:
    general: str | None  # the Rekognition-style label the class is an instance of
    specific: str  # the class's own name, title-cased


def _general_of() -> dict[int, str]:
    table: dict[int, str] = {}
    for first, last, label in _RANGES:
        for index in range(first, last + 1):
            table[index] = label
    for label, indices in _OBJECTS.items():
        for index in indices:
            table[index] = label
    return table


_GENERAL = _general_of()


def title(name: str) -> str:
    """'golden retriever' -> 'Golden Retriever'; names keep their own capitals ('iPod', 'Model T')."""
    return " ".join(w if any(c.isupper() for c in w) else w[:1].upper() + w[1:] for w in name.split())


def class_label(index: int, name: str) -> ClassLabel:
    return ClassLabel(_GENERAL.get(index), title(name))


def parents(label: str) -> tuple[str, ...]:
    return LABELS.get(label, ((), ""))[0]


def category(label: str) -> str:
    return LABELS.get(label, ((), "Everyday Objects"))[1] or "Everyday Objects"
