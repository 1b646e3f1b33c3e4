//! Websites, store groups, store views, store configs and customer groups: the fixed scaffolding
//! of a default install with a French and a German store view added.

use crate::json_out::JsonOut;

/// A store view.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreView {
    /// Store id (0 is the admin store).
    pub id: u16,
    /// Store code, the `<store_code>` of `/rest/<store_code>/V1`.
    pub code: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Website id.
    pub website_id: u16,
    /// Store group id.
    pub group_id: u16,
    /// Locale (store config).
    pub locale: &'static str,
    /// Display currency (store config).
    pub display_currency: &'static str,
    /// Timezone (store config).
    pub timezone: &'static str,
    /// Weight unit (store config).
    pub weight_unit: &'static str,
}

/// The store views, admin first.
pub const STORE_VIEWS: &[StoreView] = &[
    StoreView {
        id: 0,
        code: "admin",
        name: "Admin",
        website_id: 0,
        group_id: 0,
        locale: "en_US",
        display_currency: "USD",
        timezone: "America/Chicago",
        weight_unit: "lbs",
    },
    StoreView {
        id: 1,
        code: "default",
        name: "Default Store View",
        website_id: 1,
        group_id: 1,
        locale: "en_US",
        display_currency: "USD",
        timezone: "America/Chicago",
        weight_unit: "lbs",
    },
    StoreView {
        id: 2,
        code: "fr",
        name: "French Store View",
        website_id: 1,
        group_id: 1,
        locale: "fr_FR",
        display_currency: "EUR",
        timezone: "Europe/Paris",
        weight_unit: "kgs",
    },
    StoreView {
        id: 3,
        code: "de",
        name: "German Store View",
        website_id: 1,
        group_id: 1,
        locale: "de_DE",
        display_currency: "EUR",
        timezone: "Europe/Berlin",
        weight_unit: "kgs",
    },
];

/// The store view with this code (`admin` included).
pub fn store_by_code(code: &str) -> Option<&'static StoreView> {
    STORE_VIEWS.iter().find(|s| s.code == code)
}

/// The store view with this id.
pub fn store_by_id(id: u16) -> Option<&'static StoreView> {
    STORE_VIEWS.iter().find(|s| s.id == id)
}

/// `Main Website\nMain Website Store\n<view>`: the order's `store_name`.
pub fn order_store_name(store_id: u16) -> String {
    let view = store_by_id(store_id).map_or("Default Store View", |s| s.name);
    format!("Main Website\nMain Website Store\n{view}")
}

/// `GET /V1/store/websites`.
pub fn write_websites(o: &mut JsonOut) {
    o.begin_arr();
    for (id, code, name, group) in [(0, "admin", "Admin", 0), (1, "base", "Main Website", 1)] {
        o.begin_obj()
            .f_int("id", id)
            .f_str("code", code)
            .f_str("name", name)
            .f_int("default_group_id", group)
            .end_obj();
    }
    o.end_arr();
}

/// `GET /V1/store/storeGroups`.
pub fn write_groups(o: &mut JsonOut) {
    o.begin_arr();
    for (id, website, root, default_store, name, code) in [
        (0, 0, 0, 0, "Default", "default"),
        (1, 1, 2, 1, "Main Website Store", "main_website_store"),
    ] {
        o.begin_obj()
            .f_int("id", id)
            .f_int("website_id", website)
            .f_int("root_category_id", root)
            .f_int("default_store_id", default_store)
            .f_str("name", name)
            .f_str("code", code)
            .end_obj();
    }
    o.end_arr();
}

/// `GET /V1/store/storeViews`.
pub fn write_views(o: &mut JsonOut) {
    o.begin_arr();
    for s in STORE_VIEWS {
        o.begin_obj()
            .f_int("id", s.id.into())
            .f_str("code", s.code)
            .f_str("name", s.name)
            .f_int("website_id", s.website_id.into())
            .f_int("store_group_id", s.group_id.into())
            .f_int("is_active", 1)
            .end_obj();
    }
    o.end_arr();
}

/// `GET /V1/store/storeConfigs[?storeCodes[]=...]`; the admin store is never listed.
pub fn write_configs(o: &mut JsonOut, base_url: &str, codes: Option<&[String]>) {
    o.begin_arr();
    for s in STORE_VIEWS.iter().filter(|s| s.id != 0) {
        if let Some(codes) = codes
            && !codes.iter().any(|c| c == s.code)
        {
            continue;
        }
        let link = if s.id == 1 {
            format!("{base_url}/")
        } else {
            format!("{base_url}/{}/", s.code)
        };
        let base = format!("{base_url}/");
        let stat = format!("{base_url}/static/version1700000000/");
        let media = format!("{base_url}/media/");
        o.begin_obj()
            .f_int("id", s.id.into())
            .f_str("code", s.code)
            .f_int("website_id", s.website_id.into())
            .f_str("locale", s.locale)
            .f_str("base_currency_code", "USD")
            .f_str("default_display_currency_code", s.display_currency)
            .f_str("timezone", s.timezone)
            .f_str("weight_unit", s.weight_unit)
            .f_str("base_url", &base)
            .f_str("base_link_url", &link)
            .f_str("base_static_url", &stat)
            .f_str("base_media_url", &media)
            .f_str("secure_base_url", &base)
            .f_str("secure_base_link_url", &link)
            .f_str("secure_base_static_url", &stat)
            .f_str("secure_base_media_url", &media)
            .end_obj();
    }
    o.end_arr();
}

/// A customer group.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerGroup {
    /// Group id.
    pub id: u32,
    /// Group code.
    pub code: &'static str,
    /// Tax class id.
    pub tax_class_id: u32,
    /// Tax class name.
    pub tax_class_name: &'static str,
}

/// The default install's customer groups.
pub const CUSTOMER_GROUPS: &[CustomerGroup] = &[
    CustomerGroup {
        id: 0,
        code: "NOT LOGGED IN",
        tax_class_id: 3,
        tax_class_name: "Retail Customer",
    },
    CustomerGroup {
        id: 1,
        code: "General",
        tax_class_id: 3,
        tax_class_name: "Retail Customer",
    },
    CustomerGroup {
        id: 2,
        code: "Wholesale",
        tax_class_id: 3,
        tax_class_name: "Retail Customer",
    },
    CustomerGroup {
        id: 3,
        code: "Retailer",
        tax_class_id: 3,
        tax_class_name: "Retail Customer",
    },
];

impl CustomerGroup {
    /// Writes the group object.
    pub fn write_json(&self, o: &mut JsonOut) {
        o.begin_obj()
            .f_int("id", self.id.into())
            .f_str("code", self.code)
            .f_int("tax_class_id", self.tax_class_id.into())
            .f_str("tax_class_name", self.tax_class_name)
            .end_obj();
    }

    /// A column for searchCriteria.
    pub fn field(&self, name: &str) -> Option<crate::condition::FieldValue<'static>> {
        use crate::condition::FieldValue;
        Some(match name {
            "id" | "customer_group_id" => FieldValue::Int(self.id.into()),
            "code" | "customer_group_code" => FieldValue::from(self.code),
            "tax_class_id" => FieldValue::Int(self.tax_class_id.into()),
            _ => return None,
        })
    }
}

/// An MSI source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDef {
    /// Source code.
    pub code: &'static str,
    /// Display name.
    pub name: &'static str,
}

/// The inventory sources: the default one and a European warehouse.
pub const SOURCES: &[SourceDef] = &[
    SourceDef {
        code: "default",
        name: "Default Source",
    },
    SourceDef {
        code: "eu_warehouse",
        name: "EU Warehouse",
    },
];
