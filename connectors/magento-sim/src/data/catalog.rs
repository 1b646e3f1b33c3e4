//! Products, stock items, source items and categories: the records and their Magento JSON shape
//! (`catalog-data-product-interface`, `catalog-inventory-data-stock-item-interface`,
//! `inventory-api-data-source-item-interface`, `catalog-data-category-interface`).

use crate::condition::FieldValue;
use crate::json_out::JsonOut;

/// The value of a custom attribute: Magento does not cast these, so they are strings, or arrays
/// (such as `category_ids`).
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A string value (select attributes hold option ids, decimals look like `"19.990000"`).
    Str(String),
    /// A list of strings.
    List(Vec<String>),
}

/// A product custom attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomAttribute {
    /// Attribute code.
    pub code: String,
    /// Value.
    pub value: AttrValue,
}

/// A configurable option of a configurable parent (`configurable_product_options[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigurableOption {
    /// Option id.
    pub id: u32,
    /// EAV attribute id (93 color, 141 size).
    pub attribute_id: u32,
    /// Label.
    pub label: String,
    /// Position.
    pub position: u32,
    /// Option value ids used by the children.
    pub values: Vec<u32>,
}

/// The legacy (default stock) stock item of a product.
#[derive(Debug, Clone, PartialEq)]
pub struct StockItem {
    /// Stock item id.
    pub item_id: u32,
    /// Quantity (may be null in Magento).
    pub qty: Option<f64>,
    /// In stock flag.
    pub is_in_stock: bool,
    /// Whether qty may be fractional.
    pub is_qty_decimal: bool,
    /// Out-of-stock threshold.
    pub min_qty: f64,
    /// Minimum quantity allowed in the cart.
    pub min_sale_qty: f64,
    /// Maximum quantity allowed in the cart.
    pub max_sale_qty: f64,
    /// Backorders mode (0 none).
    pub backorders: i64,
    /// Low-stock notification threshold.
    pub notify_stock_qty: f64,
    /// Whether stock is managed.
    pub manage_stock: bool,
    /// When stock went low, Unix seconds.
    pub low_stock_date: Option<i64>,
}

/// An MSI source item.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceItem {
    /// Source code.
    pub source_code: String,
    /// Quantity.
    pub quantity: f64,
    /// 1 in stock, 0 out of stock.
    pub status: u8,
}

/// A product.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Product id (`entity_id`).
    pub id: u32,
    /// SKU.
    pub sku: String,
    /// Name (default store view value).
    pub name: String,
    /// Store-view names that differ from the default, by store id.
    pub store_names: Vec<(u16, String)>,
    /// Attribute set id (4 default, 9 top, 10 bottom, 15 gear in Luma).
    pub attribute_set_id: u32,
    /// Price.
    pub price: f64,
    /// 1 enabled, 2 disabled.
    pub status: u8,
    /// 1 not visible individually .. 4 catalog and search.
    pub visibility: u8,
    /// simple, configurable, virtual, ...
    pub type_id: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last update time, Unix seconds.
    pub updated_at: i64,
    /// Weight.
    pub weight: Option<f64>,
    /// Website ids.
    pub website_ids: Vec<u32>,
    /// Category links: (category id, position).
    pub category_links: Vec<(u32, u32)>,
    /// Custom attributes other than `category_ids`, which derives from the links.
    pub custom_attributes: Vec<CustomAttribute>,
    /// Configurable options (configurable parents).
    pub configurable_options: Vec<ConfigurableOption>,
    /// Children ids (configurable parents).
    pub configurable_links: Vec<u32>,
    /// Parent id (configurable children).
    pub parent_id: Option<u32>,
    /// Default stock item.
    pub stock: StockItem,
    /// MSI source items.
    pub source_items: Vec<SourceItem>,
}

impl Product {
    /// The name in store view `store_id`.
    pub fn name_in(&self, store_id: u16) -> &str {
        self.store_names
            .iter()
            .find(|(s, _)| *s == store_id)
            .map_or(self.name.as_str(), |(_, n)| n.as_str())
    }

    /// A custom attribute's string value.
    pub fn attr(&self, code: &str) -> Option<&str> {
        self.custom_attributes
            .iter()
            .find(|a| a.code == code)
            .and_then(|a| match &a.value {
                AttrValue::Str(s) => Some(s.as_str()),
                AttrValue::List(_) => None,
            })
    }

    /// Writes the product object. `with_stock` adds `extension_attributes.stock_item`, which
    /// Magento serves on `GET /V1/products/{sku}` but not on list items.
    pub fn write_json(&self, o: &mut JsonOut, store_id: u16, with_stock: bool) {
        o.begin_obj()
            .f_int("id", self.id.into())
            .f_str("sku", &self.sku)
            .f_str("name", self.name_in(store_id))
            .f_int("attribute_set_id", self.attribute_set_id.into())
            .f_num("price", self.price)
            .f_int("status", self.status.into())
            .f_int("visibility", self.visibility.into())
            .f_str("type_id", &self.type_id)
            .f_time("created_at", self.created_at)
            .f_time("updated_at", self.updated_at)
            .f_opt_num("weight", self.weight);
        o.key("extension_attributes").begin_obj();
        o.key("website_ids").begin_arr();
        for w in &self.website_ids {
            o.int((*w).into());
        }
        o.end_arr();
        o.key("category_links").begin_arr();
        for (cat, pos) in &self.category_links {
            o.begin_obj()
                .f_int("position", (*pos).into())
                .f_str("category_id", &cat.to_string())
                .end_obj();
        }
        o.end_arr();
        if with_stock {
            o.key("stock_item");
            self.write_stock_item(o);
        }
        if self.type_id == "configurable" {
            o.key("configurable_product_options").begin_arr();
            for opt in &self.configurable_options {
                o.begin_obj()
                    .f_int("id", opt.id.into())
                    .f_str("attribute_id", &opt.attribute_id.to_string())
                    .f_str("label", &opt.label)
                    .f_int("position", opt.position.into())
                    .key("values")
                    .begin_arr();
                for v in &opt.values {
                    o.begin_obj().f_int("value_index", (*v).into()).end_obj();
                }
                o.end_arr().f_int("product_id", self.id.into()).end_obj();
            }
            o.end_arr();
            o.key("configurable_product_links").begin_arr();
            for l in &self.configurable_links {
                o.int((*l).into());
            }
            o.end_arr();
        }
        o.end_obj();
        o.key("product_links").begin_arr().end_arr();
        o.key("options").begin_arr().end_arr();
        o.key("media_gallery_entries").begin_arr().end_arr();
        o.key("tier_prices").begin_arr().end_arr();
        o.key("custom_attributes").begin_arr();
        for a in &self.custom_attributes {
            o.begin_obj().f_str("attribute_code", &a.code).key("value");
            match &a.value {
                AttrValue::Str(s) => o.str(s),
                AttrValue::List(l) => {
                    o.begin_arr();
                    for s in l {
                        o.str(s);
                    }
                    o.end_arr()
                }
            };
            o.end_obj();
        }
        if !self.category_links.is_empty() {
            o.begin_obj()
                .f_str("attribute_code", "category_ids")
                .key("value")
                .begin_arr();
            for (c, _) in &self.category_links {
                o.str(&c.to_string());
            }
            o.end_arr().end_obj();
        }
        o.end_arr().end_obj();
    }

    /// Writes the stock item object (`GET /V1/stockItems/{sku}`).
    pub fn write_stock_item(&self, o: &mut JsonOut) {
        let s = &self.stock;
        o.begin_obj()
            .f_int("item_id", s.item_id.into())
            .f_int("product_id", self.id.into())
            .f_int("stock_id", 1);
        match s.qty {
            Some(q) => o.f_num("qty", q),
            None => o.f_null("qty"),
        };
        o.f_bool("is_in_stock", s.is_in_stock)
            .f_bool("is_qty_decimal", s.is_qty_decimal)
            .f_bool("show_default_notification_message", false)
            .f_bool("use_config_min_qty", true)
            .f_num("min_qty", s.min_qty)
            .f_int("use_config_min_sale_qty", 1)
            .f_num("min_sale_qty", s.min_sale_qty)
            .f_bool("use_config_max_sale_qty", true)
            .f_num("max_sale_qty", s.max_sale_qty)
            .f_bool("use_config_backorders", true)
            .f_int("backorders", s.backorders)
            .f_bool("use_config_notify_stock_qty", true)
            .f_num("notify_stock_qty", s.notify_stock_qty)
            .f_bool("use_config_qty_increments", true)
            .f_num("qty_increments", 0.0)
            .f_bool("use_config_enable_qty_inc", true)
            .f_bool("enable_qty_increments", false)
            .f_bool("use_config_manage_stock", true)
            .f_bool("manage_stock", s.manage_stock);
        match s.low_stock_date {
            Some(t) => o.f_time("low_stock_date", t),
            None => o.f_null("low_stock_date"),
        };
        o.f_bool("is_decimal_divided", false)
            .f_int("stock_status_changed_auto", 0)
            .end_obj();
    }

    /// A column for searchCriteria in store view `store_id`; `None` for an unknown attribute.
    pub fn field(&self, name: &str, store_id: u16) -> Option<FieldValue<'_>> {
        Some(match name {
            "entity_id" | "id" => FieldValue::Int(self.id.into()),
            "sku" => FieldValue::from(self.sku.as_str()),
            "name" => FieldValue::from(self.name_in(store_id)),
            "attribute_set_id" => FieldValue::Int(self.attribute_set_id.into()),
            "price" => FieldValue::Num(self.price),
            "status" => FieldValue::Int(self.status.into()),
            "visibility" => FieldValue::Int(self.visibility.into()),
            "type_id" => FieldValue::from(self.type_id.as_str()),
            "created_at" => FieldValue::Date(self.created_at),
            "updated_at" => FieldValue::Date(self.updated_at),
            "weight" => self.weight.map_or(FieldValue::Null, FieldValue::Num),
            "category_id" | "category_ids" => FieldValue::List(
                self.category_links
                    .iter()
                    .map(|(c, _)| FieldValue::Int((*c).into()))
                    .collect(),
            ),
            "website_id" => FieldValue::List(
                self.website_ids
                    .iter()
                    .map(|w| FieldValue::Int((*w).into()))
                    .collect(),
            ),
            // Every product is in the single website, hence visible in every store view.
            "store_id" => FieldValue::List((0..=3).map(FieldValue::Int).collect()),
            other => match self.custom_attributes.iter().find(|a| a.code == other) {
                Some(a) => match &a.value {
                    AttrValue::Str(s) => FieldValue::from(s.as_str()),
                    AttrValue::List(l) => {
                        FieldValue::List(l.iter().map(|s| FieldValue::from(s.as_str())).collect())
                    }
                },
                None if KNOWN_OPTIONAL_ATTRIBUTES.contains(&other) => FieldValue::Null,
                None => return None,
            },
        })
    }
}

/// EAV attributes that exist on every install though a product may have no value.
const KNOWN_OPTIONAL_ATTRIBUTES: &[&str] = &[
    "description",
    "short_description",
    "url_key",
    "meta_title",
    "meta_keyword",
    "meta_description",
    "special_price",
    "special_from_date",
    "special_to_date",
    "cost",
    "color",
    "size",
    "tax_class_id",
    "manufacturer",
    "country_of_manufacture",
    "news_from_date",
    "news_to_date",
    "gift_message_available",
    "options_container",
    "required_options",
    "has_options",
    "image",
    "small_image",
    "thumbnail",
];

/// One `(sku, source item)` row for searchCriteria over source items.
#[derive(Debug, Clone, Copy)]
pub struct SourceItemRow<'a> {
    /// The product.
    pub product: &'a Product,
    /// The source item.
    pub item: &'a SourceItem,
}

impl SourceItemRow<'_> {
    /// Writes the source item object.
    pub fn write_json(&self, o: &mut JsonOut) {
        o.begin_obj()
            .f_str("sku", &self.product.sku)
            .f_str("source_code", &self.item.source_code)
            .f_num("quantity", self.item.quantity)
            .f_int("status", self.item.status.into())
            .end_obj();
    }

    /// A column for searchCriteria.
    pub fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        Some(match name {
            "sku" => FieldValue::from(self.product.sku.as_str()),
            "source_code" => FieldValue::from(self.item.source_code.as_str()),
            "quantity" => FieldValue::Num(self.item.quantity),
            "status" => FieldValue::Int(self.item.status.into()),
            _ => return None,
        })
    }
}

/// A category.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    /// Category id.
    pub id: u32,
    /// Parent id (0 for the root catalog).
    pub parent_id: u32,
    /// Name.
    pub name: String,
    /// Active flag.
    pub is_active: bool,
    /// Position among siblings.
    pub position: u32,
    /// Depth (0 root catalog, 1 store root).
    pub level: u32,
    /// Children ids.
    pub children: Vec<u32>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last update time, Unix seconds.
    pub updated_at: i64,
    /// Id path, e.g. `1/2/11`.
    pub path: String,
    /// Shown in the menu.
    pub include_in_menu: bool,
    /// URL key.
    pub url_key: String,
}

impl Category {
    /// Writes the category object (`GET /V1/categories/{id}`, list items).
    pub fn write_json(&self, o: &mut JsonOut) {
        let children = self
            .children
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        o.begin_obj()
            .f_int("id", self.id.into())
            .f_int("parent_id", self.parent_id.into())
            .f_str("name", &self.name)
            .f_bool("is_active", self.is_active)
            .f_int("position", self.position.into())
            .f_int("level", self.level.into())
            .f_str("children", &children)
            .f_time("created_at", self.created_at)
            .f_time("updated_at", self.updated_at)
            .f_str("path", &self.path)
            .key("available_sort_by")
            .begin_arr()
            .end_arr()
            .f_bool("include_in_menu", self.include_in_menu)
            .key("custom_attributes")
            .begin_arr();
        if self.level >= 2 {
            o.begin_obj()
                .f_str("attribute_code", "url_key")
                .f_str("value", &self.url_key)
                .end_obj()
                .begin_obj()
                .f_str("attribute_code", "url_path")
                .f_str("value", &self.url_key)
                .end_obj();
        }
        o.begin_obj()
            .f_str("attribute_code", "is_anchor")
            .f_str("value", "1")
            .end_obj()
            .begin_obj()
            .f_str("attribute_code", "children_count")
            .f_str("value", &self.children.len().to_string())
            .end_obj()
            .end_arr()
            .end_obj();
    }

    /// A column for searchCriteria.
    pub fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        Some(match name {
            "entity_id" | "id" => FieldValue::Int(self.id.into()),
            "parent_id" => FieldValue::Int(self.parent_id.into()),
            "name" => FieldValue::from(self.name.as_str()),
            "is_active" => FieldValue::Int(self.is_active.into()),
            "position" => FieldValue::Int(self.position.into()),
            "level" => FieldValue::Int(self.level.into()),
            "created_at" => FieldValue::Date(self.created_at),
            "updated_at" => FieldValue::Date(self.updated_at),
            "path" => FieldValue::from(self.path.as_str()),
            "include_in_menu" => FieldValue::Int(self.include_in_menu.into()),
            "url_key" => FieldValue::from(self.url_key.as_str()),
            _ => return None,
        })
    }
}
