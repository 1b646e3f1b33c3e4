//! Word lists for realistic generated values (Luma-like catalog, US/EU addresses).

/// First names.
pub const FIRST_NAMES: &[&str] = &[
    "Veronica",
    "Jane",
    "John",
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
    "Sophia",
    "Mason",
    "Isabella",
    "Logan",
    "Charlotte",
    "James",
    "Amelia",
    "Benjamin",
    "Harper",
    "Elijah",
    "Evelyn",
    "Oliver",
    "Abigail",
    "Jacob",
    "Emily",
    "Michael",
    "Elizabeth",
    "Daniel",
    "Sofia",
    "Henry",
    "Avery",
    "Jackson",
    "Ella",
    "Sebastian",
    "Scarlett",
    "Aiden",
    "Grace",
    "Matthew",
    "Chloe",
    "Camille",
    "Louis",
    "Léa",
    "Hugo",
    "Manon",
    "Lukas",
    "Leonie",
    "Jonas",
    "Hannah",
    "Felix",
    "Renée",
    "Zoë",
    "José",
    "Chloé",
];

/// Last names.
pub const LAST_NAMES: &[&str] = &[
    "Costello",
    "Doe",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Dubois",
    "Lefèvre",
    "Moreau",
    "Laurent",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "O'Brien",
];

/// US regions as Magento's directory holds them: (code, name, region_id).
pub const US_REGIONS: &[(&str, &str, u32)] = &[
    ("AL", "Alabama", 1),
    ("AZ", "Arizona", 4),
    ("CA", "California", 12),
    ("CO", "Colorado", 13),
    ("FL", "Florida", 18),
    ("GA", "Georgia", 19),
    ("IL", "Illinois", 23),
    ("MA", "Massachusetts", 32),
    ("MI", "Michigan", 33),
    ("NY", "New York", 43),
    ("OH", "Ohio", 47),
    ("PA", "Pennsylvania", 51),
    ("TX", "Texas", 57),
    ("WA", "Washington", 62),
];

/// US cities.
pub const US_CITIES: &[&str] = &[
    "Calder",
    "Purchase",
    "Springfield",
    "Austin",
    "Denver",
    "Columbus",
    "Seattle",
    "Boston",
    "Phoenix",
    "Atlanta",
    "Chicago",
    "Tampa",
    "Ann Arbor",
    "Buffalo",
    "San Diego",
];

/// French cities with postcodes.
pub const FR_CITIES: &[(&str, &str)] = &[
    ("Paris", "75011"),
    ("Lyon", "69003"),
    ("Marseille", "13008"),
    ("Toulouse", "31000"),
    ("Nantes", "44000"),
    ("Lille", "59800"),
];

/// German cities with postcodes and states.
pub const DE_CITIES: &[(&str, &str, &str)] = &[
    ("Berlin", "10115", "Berlin"),
    ("München", "80331", "Bayern"),
    ("Hamburg", "20095", "Hamburg"),
    ("Köln", "50667", "Nordrhein-Westfalen"),
    ("Frankfurt am Main", "60311", "Hessen"),
];

/// British cities with postcodes.
pub const GB_CITIES: &[(&str, &str)] = &[
    ("London", "SW1A 1AA"),
    ("Manchester", "M1 1AE"),
    ("Cardiff", "CF24 3DG"),
    ("Leeds", "LS1 4DY"),
];

/// Street names.
pub const STREETS: &[&str] = &[
    "Honey Bluff Parkway",
    "Oak Ave",
    "Maple Street",
    "Cedar Lane",
    "Pine Road",
    "Elm Street",
    "Rue de Rivoli",
    "Avenue des Champs",
    "Hauptstraße",
    "Bahnhofstraße",
    "High Street",
    "Station Road",
    "Sunset Blvd",
    "Lakeview Drive",
];

/// Companies.
pub const COMPANIES: &[&str] = &[
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Ltd",
    "Stark Industries",
    "Wayne Enterprises",
];

/// Product name heads (Luma style: "Chaz Kangeroo Hoodie").
pub const PRODUCT_HEADS: &[&str] = &[
    "Chaz",
    "Ajax",
    "Marco",
    "Bruno",
    "Frankie",
    "Hollister",
    "Jupiter",
    "Montana",
    "Orion",
    "Typhon",
    "Proteus",
    "Zeppelin",
    "Lando",
    "Kenobi",
    "Hyperion",
    "Beaumont",
    "Mars",
    "Oslo",
    "Cassius",
    "Helios",
    "Radiant",
    "Juno",
    "Nona",
    "Ariel",
    "Echo",
];

/// Product name middles.
pub const PRODUCT_MIDDLES: &[&str] = &[
    "Kangeroo",
    "Full-Zip",
    "Lightweight",
    "Running",
    "Training",
    "Performance",
    "Quarter-Zip",
    "Crew",
    "Yoga",
    "Fleece",
    "Summit",
    "Elements",
    "Cool-Tech",
    "Breathe-Easy",
];

/// An apparel kind: (SKU letters, noun, French noun, German noun, women/men category ids,
/// attribute set id).
pub type ApparelKind = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    [u32; 2],
    u32,
);

/// Apparel kinds.
pub const APPAREL: &[ApparelKind] = &[
    (
        "H",
        "Hoodie",
        "Sweat à capuche",
        "Kapuzenpullover",
        [7, 15],
        9,
    ),
    ("J", "Jacket", "Veste", "Jacke", [6, 14], 9),
    ("S", "Tee", "T-shirt", "T-Shirt", [8, 16], 9),
    ("P", "Pant", "Pantalon", "Hose", [9, 17], 10),
    ("SH", "Short", "Short", "Shorts", [10, 18], 10),
];

/// Gear kinds: (SKU letters, noun, French noun, German noun, category id).
pub const GEAR: &[(&str, &str, &str, &str, u32)] = &[
    ("MB", "Backpack", "Sac à dos", "Rucksack", 20),
    ("UG", "Yoga Mat", "Tapis de yoga", "Yogamatte", 21),
    ("WG", "Sport Watch", "Montre de sport", "Sportuhr", 22),
    ("TB", "Duffle Bag", "Sac de sport", "Sporttasche", 20),
    (
        "FB",
        "Foam Roller",
        "Rouleau de massage",
        "Faszienrolle",
        21,
    ),
];

/// A select option: (option id, label).
pub type OptionLabel = (u32, &'static str);

/// Colors: (option id, label).
pub const COLORS: &[(u32, &str)] = &[
    (49, "Black"),
    (50, "Blue"),
    (51, "Brown"),
    (52, "Gray"),
    (53, "Green"),
    (56, "Orange"),
    (57, "Purple"),
    (58, "Red"),
    (59, "White"),
    (60, "Yellow"),
];

/// Sizes: (option id, label).
pub const SIZES: &[(u32, &str)] = &[(166, "XS"), (167, "S"), (168, "M"), (169, "L"), (170, "XL")];

/// Payment methods: (code, title).
pub const PAYMENTS: &[(&str, &str)] = &[
    ("checkmo", "Check / Money order"),
    ("banktransfer", "Bank Transfer Payment"),
    ("cashondelivery", "Cash On Delivery"),
    ("purchaseorder", "Purchase Order"),
];

/// Shipping methods: (code, description, amount per visible unit).
pub const SHIPPINGS: &[(&str, &str, f64)] = &[
    ("flatrate_flatrate", "Flat Rate - Fixed", 5.0),
    ("tablerate_bestway", "Best Way - Table Rate", 7.5),
    ("freeshipping_freeshipping", "Free Shipping - Free", 0.0),
];

/// Carriers: (code, title).
pub const CARRIERS: &[(&str, &str)] = &[
    ("ups", "United Parcel Service"),
    ("fedex", "Federal Express"),
    ("usps", "United States Postal Service"),
    ("dhl", "DHL"),
];

/// The category tree below "Default Category": (id, parent id, name).
pub const CATEGORIES: &[(u32, u32, &str)] = &[
    (3, 2, "Women"),
    (4, 3, "Tops"),
    (5, 3, "Bottoms"),
    (6, 4, "Jackets"),
    (7, 4, "Hoodies & Sweatshirts"),
    (8, 4, "Tees"),
    (9, 5, "Pants"),
    (10, 5, "Shorts"),
    (11, 2, "Men"),
    (12, 11, "Tops"),
    (13, 11, "Bottoms"),
    (14, 12, "Jackets"),
    (15, 12, "Hoodies & Sweatshirts"),
    (16, 12, "Tees"),
    (17, 13, "Pants"),
    (18, 13, "Shorts"),
    (19, 2, "Gear"),
    (20, 19, "Bags"),
    (21, 19, "Fitness Equipment"),
    (22, 19, "Watches"),
    (23, 2, "Sale"),
    (24, 2, "What's New"),
];
