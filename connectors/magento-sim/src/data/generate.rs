//! Deterministic generation of the shop's data from a seed.
//!
//! Each entity kind draws from its own random stream, so changing the number of orders does not
//! change the customers. Timestamps lie between 2023-01-01 and late 2024, before any write the
//! simulator makes at run time.

use super::catalog::{
    AttrValue, Category, ConfigurableOption, CustomAttribute, Product, SourceItem, StockItem,
};
use super::customer::{Address, Customer, Region};
use super::names::*;
use super::rng::Rng;
use super::sales::{
    DocItem, Invoice, Order, OrderAddress, OrderItem, Shipment, StatusHistory, Track, round2,
};
use super::stores::store_by_id;
use super::{Db, DocKind};
use crate::config::SimConfig;

/// 2023-01-01 00:00:00 UTC: the earliest generated timestamp.
pub const BASE_TS: i64 = 1_672_531_200;
const DAY: i64 = 86_400;
const SPAN: i64 = 600 * DAY;

/// Generates the whole shop for `cfg`.
pub fn generate(cfg: &SimConfig) -> Db {
    let mut db = Db::default();
    categories(&mut db);
    products(&mut db, cfg.seed, cfg.products);
    customers(&mut db, cfg.seed, cfg.customers);
    orders(&mut db, cfg.seed, cfg.orders);
    db
}

/// A URL key: lower case, ASCII letters and digits, dashes between words.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in fold(s).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Folds the accents of the word lists to ASCII (for e-mails and URL keys).
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'à' | 'â' | 'ä' => out.push('a'),
            'ö' | 'ô' => out.push('o'),
            'ü' | 'û' => out.push('u'),
            'ï' | 'î' => out.push('i'),
            'ç' => out.push('c'),
            'ß' => out.push_str("ss"),
            '\'' => {}
            c => out.push(c),
        }
    }
    out
}

fn categories(db: &mut Db) {
    let ts = BASE_TS - 30 * DAY;
    let mut cats = vec![
        Category {
            id: 1,
            parent_id: 0,
            name: "Root Catalog".into(),
            is_active: true,
            position: 0,
            level: 0,
            children: vec![2],
            created_at: ts,
            updated_at: ts,
            path: "1".into(),
            include_in_menu: true,
            url_key: "root-catalog".into(),
        },
        Category {
            id: 2,
            parent_id: 1,
            name: "Default Category".into(),
            is_active: true,
            position: 1,
            level: 1,
            children: vec![],
            created_at: ts,
            updated_at: ts,
            path: "1/2".into(),
            include_in_menu: true,
            url_key: "default-category".into(),
        },
    ];
    for &(id, parent, name) in CATEGORIES {
        let (ppath, plevel, pslug, pos) = {
            let p = cats
                .iter_mut()
                .find(|c| c.id == parent)
                .expect("category parents come first in the list");
            p.children.push(id);
            (
                p.path.clone(),
                p.level,
                p.url_key.clone(),
                p.children.len() as u32,
            )
        };
        let url_key = if plevel >= 2 {
            format!("{}-{}", slug(name), pslug.split('-').next().unwrap_or(""))
        } else {
            slug(name)
        };
        cats.push(Category {
            id,
            parent_id: parent,
            name: name.into(),
            is_active: true,
            position: pos,
            level: plevel + 1,
            children: vec![],
            created_at: ts + i64::from(id) * 60,
            updated_at: ts + i64::from(id) * 60,
            path: format!("{ppath}/{id}"),
            include_in_menu: true,
            url_key,
        });
    }
    cats.sort_by_key(|c| c.id);
    db.categories = cats;
}

fn price(r: &mut Rng, lo: i64, hi: i64) -> f64 {
    let cents = [0.0, 0.0, 0.5, 0.99];
    r.range(lo, hi) as f64 + r.pick(&cents)
}

fn stock(r: &mut Rng, id: u32, qty: Option<f64>) -> (StockItem, Vec<SourceItem>) {
    let q = qty.unwrap_or(0.0);
    let item = StockItem {
        item_id: id,
        qty,
        is_in_stock: qty.is_none_or(|q| q > 0.0),
        is_qty_decimal: false,
        min_qty: 0.0,
        min_sale_qty: 1.0,
        max_sale_qty: 10_000.0,
        backorders: 0,
        notify_stock_qty: 1.0,
        manage_stock: true,
        low_stock_date: None,
    };
    let mut sources = Vec::new();
    if qty.is_some() {
        sources.push(SourceItem {
            source_code: "default".into(),
            quantity: q,
            status: u8::from(q > 0.0),
        });
        if r.chance(0.3) {
            let eu = r.range(0, 80) as f64;
            sources.push(SourceItem {
                source_code: "eu_warehouse".into(),
                quantity: eu,
                status: u8::from(eu > 0.0),
            });
        }
    }
    (item, sources)
}

fn attr(code: &str, v: impl Into<String>) -> CustomAttribute {
    CustomAttribute {
        code: code.into(),
        value: AttrValue::Str(v.into()),
    }
}

fn products(db: &mut Db, seed: u64, n: u32) {
    let mut r = Rng::new(seed, 1);
    let mut families: std::collections::HashMap<String, u32> = Default::default();
    while db.seq.product < n {
        let remaining = n - db.seq.product;
        let created = BASE_TS + r.range(0, SPAN);
        let updated = created + r.range(0, 90 * DAY);
        let head = *r.pick(PRODUCT_HEADS);
        if remaining >= 4 && r.chance(0.4) {
            let g = r.below(2) as usize;
            let &(letters, noun, noun_fr, noun_de, cats, set) = r.pick(APPAREL);
            let prefix = format!("{}{letters}", ["W", "M"][g]);
            let k = families.entry(prefix.clone()).or_insert(0);
            *k += 1;
            let sku = format!("{prefix}{:02}", *k);
            let middle = *r.pick(PRODUCT_MIDDLES);
            let name = format!("{head} {middle} {noun}");
            let p = price(&mut r, 18, 89);
            let c0 = r.below(COLORS.len() as u64) as usize;
            let colors: Vec<OptionLabel> = (0..r.range(1, 3) as usize)
                .map(|i| COLORS[(c0 + i * 3) % COLORS.len()])
                .collect();
            let s0 = r.below(2) as usize;
            let sizes: Vec<OptionLabel> = SIZES[s0..s0 + r.range(2, 4) as usize].to_vec();
            let mut combos: Vec<(OptionLabel, OptionLabel)> = Vec::new();
            for s in &sizes {
                for c in &colors {
                    combos.push((*s, *c));
                }
            }
            combos.truncate((remaining - 1) as usize);
            let parent_id = db.seq.product + 1;
            let child_ids: Vec<u32> = (0..combos.len() as u32)
                .map(|i| parent_id + 1 + i)
                .collect();
            let top = [3u32, 11][g];
            let mid = if set == 9 {
                [4u32, 12][g]
            } else {
                [5u32, 13][g]
            };
            let mut links = vec![(top, 0), (mid, 1), (cats[g], 2)];
            if r.chance(0.1) {
                links.push((23, 3));
            }
            let store_names = if r.chance(0.5) {
                vec![
                    (2, format!("{noun_fr} {head} {middle}")),
                    (3, format!("{head} {middle} {noun_de}")),
                ]
            } else {
                vec![]
            };
            db.seq.config_option += 2;
            let opt_base = db.seq.config_option - 1;
            let (pstock, _) = stock(&mut r, parent_id, Some(0.0));
            let mut pstock = pstock;
            pstock.is_in_stock = true;
            db.put_product(Product {
                id: parent_id,
                sku: sku.clone(),
                name: name.clone(),
                store_names: store_names.clone(),
                attribute_set_id: set,
                price: p,
                status: 1,
                visibility: 4,
                type_id: "configurable".into(),
                created_at: created,
                updated_at: updated,
                weight: None,
                website_ids: vec![1],
                category_links: links,
                custom_attributes: vec![
                    attr(
                        "description",
                        format!("<p>The {name} keeps you comfortable through every workout.</p>"),
                    ),
                    attr("url_key", slug(&name)),
                    attr("tax_class_id", "2"),
                    attr("options_container", "container1"),
                    attr("required_options", "0"),
                    attr("has_options", "1"),
                    attr("meta_title", name.clone()),
                ],
                configurable_options: vec![
                    ConfigurableOption {
                        id: opt_base,
                        attribute_id: 93,
                        label: "Color".into(),
                        position: 1,
                        values: colors.iter().map(|c| c.0).collect(),
                    },
                    ConfigurableOption {
                        id: opt_base + 1,
                        attribute_id: 141,
                        label: "Size".into(),
                        position: 0,
                        values: sizes.iter().map(|s| s.0).collect(),
                    },
                ],
                configurable_links: child_ids.clone(),
                parent_id: None,
                stock: pstock,
                source_items: vec![],
            });
            for (i, ((size_id, size), (color_id, color))) in combos.into_iter().enumerate() {
                let id = child_ids[i];
                let qty = if r.chance(0.1) {
                    0.0
                } else {
                    r.range(1, 200) as f64
                };
                let (st, sources) = stock(&mut r, id, Some(qty));
                let cname = format!("{name}-{size}-{color}");
                db.put_product(Product {
                    id,
                    sku: format!("{sku}-{size}-{color}"),
                    name: cname.clone(),
                    store_names: store_names
                        .iter()
                        .map(|(s, n)| (*s, format!("{n}-{size}-{color}")))
                        .collect(),
                    attribute_set_id: set,
                    price: p,
                    status: 1,
                    visibility: 1,
                    type_id: "simple".into(),
                    created_at: created,
                    updated_at: updated,
                    weight: Some(1.0),
                    website_ids: vec![1],
                    category_links: vec![],
                    custom_attributes: vec![
                        attr("url_key", slug(&cname)),
                        attr("tax_class_id", "2"),
                        attr("color", color_id.to_string()),
                        attr("size", size_id.to_string()),
                        attr("required_options", "0"),
                        attr("has_options", "0"),
                    ],
                    configurable_options: vec![],
                    configurable_links: vec![],
                    parent_id: Some(parent_id),
                    stock: st,
                    source_items: sources,
                });
            }
        } else {
            let id = db.seq.product + 1;
            let virtual_product = r.chance(0.05);
            let &(letters, noun, noun_fr, noun_de, cat) = r.pick(GEAR);
            let (sku, name, type_id, weight, links) = if virtual_product {
                (
                    format!("VRT-{id:04}"),
                    format!("{head} Yoga Class Pass"),
                    "virtual",
                    None,
                    vec![(19, 0), (21, 1)],
                )
            } else {
                let k = families.entry(letters.to_string()).or_insert(0);
                *k += 1;
                (
                    format!("24-{letters}{:02}", *k),
                    format!("{head} {noun}"),
                    "simple",
                    Some(r.range(1, 5) as f64),
                    vec![(19, 0), (cat, 1)],
                )
            };
            let p = price(&mut r, 9, 120);
            let qty = if r.chance(0.1) {
                0.0
            } else {
                r.range(1, 500) as f64
            };
            let (st, sources) = stock(&mut r, id, Some(qty));
            let mut attrs = vec![
                attr(
                    "description",
                    format!("<p>{name}: built for daily training.</p>"),
                ),
                attr("url_key", slug(&name) + &format!("-{id}")),
                attr("tax_class_id", "2"),
                attr("required_options", "0"),
                attr("has_options", "0"),
            ];
            if r.chance(0.1) {
                attrs.push(attr("special_price", format!("{:.6}", round2(p * 0.8))));
            }
            let store_names = if !virtual_product && r.chance(0.5) {
                vec![
                    (2, format!("{noun_fr} {head}")),
                    (3, format!("{head} {noun_de}")),
                ]
            } else {
                vec![]
            };
            db.put_product(Product {
                id,
                sku,
                name,
                store_names,
                attribute_set_id: if virtual_product { 4 } else { 15 },
                price: p,
                status: if r.chance(0.05) { 2 } else { 1 },
                visibility: 4,
                type_id: type_id.into(),
                created_at: created,
                updated_at: updated,
                weight,
                website_ids: vec![1],
                category_links: links,
                custom_attributes: attrs,
                configurable_options: vec![],
                configurable_links: vec![],
                parent_id: None,
                stock: st,
                source_items: sources,
            });
        }
    }
}

fn telephone(r: &mut Rng, country: &str) -> String {
    match country {
        "FR" => format!(
            "+33 1 {:02} {:02} {:02} {:02}",
            r.below(100),
            r.below(100),
            r.below(100),
            r.below(100)
        ),
        "DE" => format!("+49 30 {:07}", r.below(10_000_000)),
        "GB" => format!("020 7946 {:04}", r.below(10_000)),
        _ => format!("(555) {:03}-{:04}", r.range(200, 999), r.below(10_000)),
    }
}

/// A random address in `country` for `first last`.
pub fn random_address(r: &mut Rng, country: &str, first: &str, last: &str) -> Address {
    let number = r.range(1, 9999);
    let street = format!("{number} {}", r.pick(STREETS));
    let (city, postcode, region) = match country {
        "FR" => {
            let (c, p) = *r.pick(FR_CITIES);
            (
                c.to_string(),
                p.to_string(),
                Region {
                    code: c.into(),
                    name: c.into(),
                    id: 0,
                },
            )
        }
        "DE" => {
            let (c, p, s) = *r.pick(DE_CITIES);
            (
                c.to_string(),
                p.to_string(),
                Region {
                    code: s.into(),
                    name: s.into(),
                    id: 0,
                },
            )
        }
        "GB" => {
            let (c, p) = *r.pick(GB_CITIES);
            (
                c.to_string(),
                p.to_string(),
                Region {
                    code: c.into(),
                    name: c.into(),
                    id: 0,
                },
            )
        }
        _ => {
            let (code, name, id) = *r.pick(US_REGIONS);
            (
                r.pick(US_CITIES).to_string(),
                format!("{:05}", r.range(10_000, 99_999)),
                Region {
                    code: code.into(),
                    name: name.into(),
                    id,
                },
            )
        }
    };
    Address {
        id: 0,
        customer_id: 0,
        region,
        country_id: country.into(),
        street: vec![street],
        company: if r.chance(0.15) {
            Some(r.pick(COMPANIES).to_string())
        } else {
            None
        },
        telephone: telephone(r, country),
        postcode,
        city,
        firstname: first.into(),
        lastname: last.into(),
        vat_id: None,
    }
}

fn customers(db: &mut Db, seed: u64, n: u32) {
    let mut r = Rng::new(seed, 2);
    let domains = ["example.com", "example.com", "example.org", "example.net"];
    for id in 1..=n {
        let first = *r.pick(FIRST_NAMES);
        let last = *r.pick(LAST_NAMES);
        let email = format!(
            "{}.{}{}@{}",
            slug(first).replace('-', ""),
            slug(last).replace('-', ""),
            id,
            r.pick(&domains)
        );
        let store_id: u16 = match r.below(100) {
            0..70 => 1,
            70..85 => 2,
            _ => 3,
        };
        let country = match store_id {
            2 => "FR",
            3 => "DE",
            _ if r.chance(0.1) => "GB",
            _ => "US",
        };
        let created = BASE_TS + r.range(0, SPAN);
        let updated = created + r.range(0, 60 * DAY);
        let n_addr = match r.below(10) {
            0 => 0,
            1..=6 => 1,
            _ => 2,
        };
        let mut addresses = Vec::with_capacity(n_addr);
        for _ in 0..n_addr {
            db.seq.address += 1;
            let mut a = random_address(&mut r, country, first, last);
            a.id = db.seq.address;
            a.customer_id = id;
            addresses.push(a);
        }
        let default_billing = addresses.first().map(|a| a.id);
        let default_shipping = if addresses.len() > 1 && r.chance(0.3) {
            Some(addresses[1].id)
        } else {
            default_billing
        };
        let gender = match r.below(10) {
            0..=3 => Some(1),
            4..=7 => Some(2),
            8 => Some(3),
            _ => None,
        };
        db.put_customer(Customer {
            id,
            group_id: match r.below(10) {
                0 => 2,
                1 => 3,
                _ => 1,
            },
            default_billing,
            default_shipping,
            created_at: created,
            updated_at: updated,
            created_in: store_by_id(store_id)
                .map_or("Default Store View", |s| s.name)
                .into(),
            dob: if r.chance(0.6) {
                Some(r.range(-7300, 12_400) as i32)
            } else {
                None
            },
            email,
            firstname: first.into(),
            lastname: last.into(),
            middlename: if r.chance(0.05) {
                Some("J.".into())
            } else {
                None
            },
            prefix: match gender {
                Some(1) if r.chance(0.1) => Some("Mr.".into()),
                Some(2) if r.chance(0.1) => Some("Ms.".into()),
                _ => None,
            },
            suffix: None,
            gender,
            store_id,
            taxvat: if r.chance(0.05) {
                Some(format!("{country}{:09}", r.below(1_000_000_000)))
            } else {
                None
            },
            website_id: 1,
            addresses,
            disable_auto_group_change: 0,
            is_subscribed: r.chance(0.3),
        });
    }
}

fn order_address(
    db: &mut Db,
    a: &Address,
    kind: &str,
    email: &str,
    customer_address_id: Option<u32>,
) -> OrderAddress {
    db.seq.order_address += 1;
    OrderAddress {
        entity_id: db.seq.order_address,
        address_type: kind.into(),
        city: a.city.clone(),
        company: a.company.clone(),
        country_id: a.country_id.clone(),
        customer_address_id,
        email: email.into(),
        firstname: a.firstname.clone(),
        lastname: a.lastname.clone(),
        postcode: a.postcode.clone(),
        region: Some(a.region.name.clone()),
        region_code: Some(a.region.code.clone()),
        region_id: Some(a.region.id),
        street: a.street.clone(),
        telephone: a.telephone.clone(),
    }
}

fn orders(db: &mut Db, seed: u64, n: u32) {
    let mut r = Rng::new(seed, 3);
    let sellable: Vec<u32> = db
        .live_products()
        .filter(|p| p.type_id != "configurable" && p.status == 1)
        .map(|p| p.id)
        .collect();
    let customer_count = db.seq.customer;
    for entity_id in 1..=n {
        let guest = customer_count == 0 || r.chance(0.2);
        let customer = if guest {
            None
        } else {
            let cid = 1 + r.below(u64::from(customer_count)) as u32;
            db.customer(cid).cloned()
        };
        let store_id = customer.as_ref().map_or_else(
            || match r.below(10) {
                0..=6 => 1,
                7 | 8 => 2,
                _ => 3,
            },
            |c| c.store_id,
        );
        let mut created = BASE_TS + r.range(0, SPAN);
        if let Some(c) = &customer
            && created < c.created_at
        {
            created = c.created_at + r.range(3600, 30 * DAY);
        }
        let (first, last, email) = match &customer {
            Some(c) => (c.firstname.clone(), c.lastname.clone(), c.email.clone()),
            None => {
                let f = *r.pick(FIRST_NAMES);
                let l = *r.pick(LAST_NAMES);
                (
                    f.to_string(),
                    l.to_string(),
                    format!("guest{entity_id}@example.net"),
                )
            }
        };
        let mut items: Vec<OrderItem> = Vec::new();
        let lines = r.range(1, 3);
        for _ in 0..lines {
            if sellable.is_empty() {
                break;
            }
            let pid = *r.pick(&sellable);
            let Some(p) = db.product(pid) else { continue };
            let opt = |code: &str| {
                p.attr(code)
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0)
            };
            let options = vec![(93, opt("color")), (141, opt("size"))];
            let parent = p
                .parent_id
                .and_then(|pp| db.product(pp))
                .map(|pp| (pp.id, pp.name.clone()));
            let (p_id, p_sku, p_name, p_price, p_type) = (
                p.id,
                p.sku.clone(),
                p.name.clone(),
                p.price,
                p.type_id.clone(),
            );
            let child_weight = p.weight.unwrap_or(0.0);
            let qty = if r.chance(0.8) {
                1.0
            } else {
                r.range(2, 3) as f64
            };
            db.seq.quote += 1;
            let quote_item = db.seq.quote;
            match parent {
                Some((parent_id, parent_name)) => {
                    db.seq.order_item += 1;
                    let parent_line = OrderItem {
                        item_id: db.seq.order_item,
                        parent_item_id: None,
                        product_id: parent_id,
                        product_type: "configurable".into(),
                        sku: p_sku.clone(),
                        name: parent_name,
                        qty_ordered: qty,
                        price: p_price,
                        original_price: p_price,
                        weight: child_weight,
                        quote_item_id: quote_item,
                        options,
                        ..OrderItem::default()
                    };
                    db.seq.order_item += 1;
                    let child = OrderItem {
                        item_id: db.seq.order_item,
                        parent_item_id: Some(parent_line.item_id),
                        product_id: p_id,
                        product_type: "simple".into(),
                        sku: p_sku,
                        name: p_name,
                        qty_ordered: qty,
                        price: 0.0,
                        original_price: 0.0,
                        weight: child_weight,
                        quote_item_id: quote_item + 1,
                        ..OrderItem::default()
                    };
                    db.seq.quote += 1;
                    items.push(parent_line);
                    items.push(child);
                }
                None => {
                    db.seq.order_item += 1;
                    items.push(OrderItem {
                        item_id: db.seq.order_item,
                        product_id: p_id,
                        is_virtual: p_type == "virtual",
                        product_type: p_type,
                        sku: p_sku,
                        name: p_name,
                        qty_ordered: qty,
                        price: p_price,
                        original_price: p_price,
                        weight: child_weight,
                        quote_item_id: quote_item,
                        ..OrderItem::default()
                    });
                }
            }
        }
        let is_virtual = !items.is_empty() && items.iter().all(|i| i.is_virtual);
        let country = match store_id {
            2 => "FR",
            3 => "DE",
            _ => "US",
        };
        let (bill_src, bill_cid, ship_src, ship_cid) = match &customer {
            Some(c) if !c.addresses.is_empty() => {
                let b = c
                    .addresses
                    .iter()
                    .find(|a| Some(a.id) == c.default_billing)
                    .unwrap_or(&c.addresses[0])
                    .clone();
                let s = c
                    .addresses
                    .iter()
                    .find(|a| Some(a.id) == c.default_shipping)
                    .unwrap_or(&c.addresses[0])
                    .clone();
                let (bid, sid) = (b.id, s.id);
                (b, Some(bid), s, Some(sid))
            }
            _ => {
                let a = random_address(&mut r, country, &first, &last);
                (a.clone(), None, a, None)
            }
        };
        // Magento saves the shipping address first, so it has the lower id.
        let shipping_address = if is_virtual {
            None
        } else {
            Some(order_address(db, &ship_src, "shipping", &email, ship_cid))
        };
        let billing_address = order_address(db, &bill_src, "billing", &email, bill_cid);
        let visible_qty: f64 = items
            .iter()
            .filter(|i| i.parent_item_id.is_none())
            .map(|i| i.qty_ordered)
            .sum();
        let (ship_code, ship_desc, rate) = *r.pick(SHIPPINGS);
        let (pay_code, pay_title) = *r.pick(PAYMENTS);
        let increment_id = db.next_increment(DocKind::Order, store_id);
        db.seq.quote += 1;
        let mut order = Order {
            entity_id,
            increment_id,
            store_id,
            customer_id: customer.as_ref().map(|c| c.id),
            customer_email: email,
            customer_firstname: Some(first),
            customer_lastname: Some(last),
            customer_group_id: customer.as_ref().map_or(0, |c| c.group_id),
            state: "new".into(),
            status: "pending".into(),
            created_at: created,
            updated_at: created,
            items,
            billing_address,
            shipping_address,
            payment_method: pay_code.into(),
            payment_title: pay_title.into(),
            shipping_method: (!is_virtual).then(|| ship_code.to_string()),
            shipping_description: (!is_virtual).then(|| ship_desc.to_string()),
            shipping_amount: if is_virtual {
                0.0
            } else {
                round2(rate * visible_qty)
            },
            quote_id: db.seq.quote,
            protect_code: format!("{:06x}", r.below(0xFF_FFFF)),
            remote_ip: Some(format!("203.0.113.{}", r.range(1, 254))),
            ..Order::default()
        };
        if r.chance(0.15) {
            order.discount_amount = -round2(order.subtotal() * 0.1);
        }
        let roll = r.below(100);
        let mut t = created;
        if (35..90).contains(&roll) && !order.items.is_empty() {
            t += r.range(600, 6 * 3600);
            invoice_all(db, &mut order, t);
            order.state = "processing".into();
            order.status = "processing".into();
            if roll >= 60 {
                t += r.range(3600, 3 * DAY);
                if !order.is_virtual() {
                    let (code, title) = *r.pick(CARRIERS);
                    let track = r
                        .chance(0.7)
                        .then(|| (code, title, format!("1Z{:016X}", r.next_u64() >> 2)));
                    ship_all(db, &mut order, t, track);
                }
                order.state = "complete".into();
                order.status = "complete".into();
            }
        } else if (90..95).contains(&roll) {
            t += r.range(600, 2 * DAY);
            for i in &mut order.items {
                i.qty_canceled = i.qty_ordered;
            }
            order.state = "canceled".into();
            order.status = "canceled".into();
        } else if roll >= 95 {
            t += r.range(600, 2 * DAY);
            order.hold_before_state = Some("new".into());
            order.hold_before_status = Some("pending".into());
            order.state = "holded".into();
            order.status = "holded".into();
        }
        if order.state != "new" {
            db.seq.history += 1;
            let comment = match order.state.as_str() {
                "complete" => "Order shipped.",
                "processing" => "Payment received.",
                "canceled" => "Canceled at the customer's request.",
                _ => "Waiting for stock confirmation.",
            };
            order.status_histories.push(StatusHistory {
                entity_id: db.seq.history,
                comment: comment.into(),
                created_at: t,
                is_customer_notified: if r.chance(0.5) { Some(1) } else { None },
                is_visible_on_front: 0,
                status: Some(order.status.clone()),
            });
        }
        order.updated_at = t;
        db.orders.push(order);
    }
}

/// Invoices every remaining quantity of `order` at time `t` (generation only).
fn invoice_all(db: &mut Db, order: &mut Order, t: i64) {
    let mut items = Vec::new();
    for it in &mut order.items {
        let q = it.qty_to_invoice();
        if q > 0.0 {
            db.seq.invoice_item += 1;
            items.push(DocItem {
                entity_id: db.seq.invoice_item,
                order_item_id: it.item_id,
                qty: q,
            });
            it.qty_invoiced += q;
        }
    }
    let increment_id = db.next_increment(DocKind::Invoice, order.store_id);
    let inv = Invoice {
        entity_id: db.invoices.len() as u32 + 1,
        increment_id,
        order_id: order.entity_id,
        store_id: order.store_id,
        state: 2,
        shipping_amount: order.shipping_amount,
        items,
        comments: vec![],
        created_at: t,
        updated_at: t,
    };
    let total = inv.grand_total(order) + order.discount_amount;
    order.total_invoiced = round2(total);
    order.total_paid = round2(total);
    order.shipping_invoiced = order.shipping_amount;
    db.invoices.push(inv);
}

/// Ships every remaining quantity of `order` at time `t` (generation only).
fn ship_all(db: &mut Db, order: &mut Order, t: i64, track: Option<(&str, &str, String)>) {
    let mut items = Vec::new();
    for it in &mut order.items {
        let q = it.qty_to_ship();
        if q > 0.0 && !it.is_virtual {
            if it.parent_item_id.is_none() {
                db.seq.shipment_item += 1;
                items.push(DocItem {
                    entity_id: db.seq.shipment_item,
                    order_item_id: it.item_id,
                    qty: q,
                });
            }
            it.qty_shipped += q;
        }
    }
    let entity_id = db.shipments.len() as u32 + 1;
    let increment_id = db.next_increment(DocKind::Shipment, order.store_id);
    let tracks = track
        .map(|(code, title, number)| {
            db.seq.track += 1;
            vec![Track {
                entity_id: db.seq.track,
                parent_id: entity_id,
                order_id: order.entity_id,
                track_number: number,
                title: title.into(),
                carrier_code: code.into(),
                weight: None,
                qty: None,
                description: None,
                created_at: t,
                updated_at: t,
            }]
        })
        .unwrap_or_default();
    db.shipments.push(Shipment {
        entity_id,
        increment_id,
        order_id: order.entity_id,
        store_id: order.store_id,
        items,
        tracks,
        comments: vec![],
        created_at: t,
        updated_at: t,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_consistent() {
        let cfg = SimConfig {
            customers: 50,
            products: 40,
            orders: 80,
            ..SimConfig::default()
        };
        let a = generate(&cfg);
        let b = generate(&cfg);
        assert_eq!(a.customers, b.customers);
        assert_eq!(a.orders, b.orders);
        assert_eq!(a.product_count(), 40);
        assert_eq!(a.customer_count(), 50);
        assert_eq!(a.orders.len(), 80);
        assert!(a.live_products().any(|p| p.type_id == "configurable"));
        assert!(a.orders.iter().any(|o| o.customer_id.is_none()));
        assert!(
            a.orders
                .iter()
                .any(|o| o.items.iter().any(|i| i.parent_item_id.is_some()))
        );
        assert_eq!(slug("Hoodies & Sweatshirts"), "hoodies-sweatshirts");
    }
}
