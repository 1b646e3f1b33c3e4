//! Customers and their addresses: the records and their Magento JSON shape
//! (`customer-data-customer-interface`, `customer-data-address-interface`).

use crate::condition::FieldValue;
use crate::json_out::JsonOut;

/// A region of an address (`customer-data-region-interface`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Region {
    /// Region code, e.g. `MI`.
    pub code: String,
    /// Region name, e.g. `Michigan`.
    pub name: String,
    /// Directory region id, 0 for a free-text region.
    pub id: u32,
}

/// A customer address.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Address {
    /// Address id.
    pub id: u32,
    /// Owner id.
    pub customer_id: u32,
    /// Region.
    pub region: Region,
    /// ISO country code.
    pub country_id: String,
    /// Street lines.
    pub street: Vec<String>,
    /// Company.
    pub company: Option<String>,
    /// Telephone.
    pub telephone: String,
    /// Postcode.
    pub postcode: String,
    /// City.
    pub city: String,
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// VAT number.
    pub vat_id: Option<String>,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Customer {
    /// Customer id (`entity_id`).
    pub id: u32,
    /// Customer group id.
    pub group_id: u32,
    /// Default billing address id.
    pub default_billing: Option<u32>,
    /// Default shipping address id.
    pub default_shipping: Option<u32>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last update time, Unix seconds.
    pub updated_at: i64,
    /// Name of the store view the account was created in.
    pub created_in: String,
    /// Date of birth, days since 1970-01-01.
    pub dob: Option<i32>,
    /// E-mail, unique per website.
    pub email: String,
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// Middle name.
    pub middlename: Option<String>,
    /// Name prefix.
    pub prefix: Option<String>,
    /// Name suffix.
    pub suffix: Option<String>,
    /// 1 male, 2 female, 3 not specified.
    pub gender: Option<u8>,
    /// Store id.
    pub store_id: u16,
    /// Tax/VAT number.
    pub taxvat: Option<String>,
    /// Website id.
    pub website_id: u16,
    /// Addresses.
    pub addresses: Vec<Address>,
    /// 0 or 1.
    pub disable_auto_group_change: u8,
    /// Newsletter subscription (extension attribute).
    pub is_subscribed: bool,
}

impl Customer {
    /// Writes the customer object.
    pub fn write_json(&self, o: &mut JsonOut) {
        o.begin_obj()
            .f_int("id", self.id.into())
            .f_int("group_id", self.group_id.into());
        if let Some(b) = self.default_billing {
            o.f_str("default_billing", &b.to_string());
        }
        if let Some(s) = self.default_shipping {
            o.f_str("default_shipping", &s.to_string());
        }
        o.f_time("created_at", self.created_at)
            .f_time("updated_at", self.updated_at)
            .f_str("created_in", &self.created_in);
        if let Some(d) = self.dob {
            o.f_str("dob", &crate::data::time::format_date(d));
        }
        o.f_str("email", &self.email)
            .f_str("firstname", &self.firstname)
            .f_str("lastname", &self.lastname)
            .f_opt_str("middlename", self.middlename.as_deref())
            .f_opt_str("prefix", self.prefix.as_deref())
            .f_opt_str("suffix", self.suffix.as_deref())
            .f_opt_int("gender", self.gender.map(i64::from))
            .f_int("store_id", self.store_id.into())
            .f_opt_str("taxvat", self.taxvat.as_deref())
            .f_int("website_id", self.website_id.into());
        o.key("addresses").begin_arr();
        for a in &self.addresses {
            self.write_address(o, a);
        }
        o.end_arr()
            .f_int(
                "disable_auto_group_change",
                self.disable_auto_group_change.into(),
            )
            .key("extension_attributes")
            .begin_obj()
            .f_bool("is_subscribed", self.is_subscribed)
            .end_obj()
            .end_obj();
    }

    /// Writes one of this customer's addresses, with its default flags.
    pub fn write_address(&self, o: &mut JsonOut, a: &Address) {
        o.begin_obj()
            .f_int("id", a.id.into())
            .f_int("customer_id", a.customer_id.into())
            .key("region")
            .begin_obj()
            .f_str("region_code", &a.region.code)
            .f_str("region", &a.region.name)
            .f_int("region_id", a.region.id.into())
            .end_obj()
            .f_int("region_id", a.region.id.into())
            .f_str("country_id", &a.country_id)
            .f_str_arr("street", &a.street)
            .f_opt_str("company", a.company.as_deref())
            .f_str("telephone", &a.telephone)
            .f_str("postcode", &a.postcode)
            .f_str("city", &a.city)
            .f_str("firstname", &a.firstname)
            .f_str("lastname", &a.lastname)
            .f_opt_str("vat_id", a.vat_id.as_deref());
        // The booleans are only present when true (null is omitted).
        if self.default_shipping == Some(a.id) {
            o.f_bool("default_shipping", true);
        }
        if self.default_billing == Some(a.id) {
            o.f_bool("default_billing", true);
        }
        o.end_obj();
    }

    /// A column for searchCriteria; `None` for an unknown attribute.
    pub fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        Some(match name {
            "id" | "entity_id" => FieldValue::Int(self.id.into()),
            "group_id" => FieldValue::Int(self.group_id.into()),
            "default_billing" => self
                .default_billing
                .map_or(FieldValue::Null, |v| FieldValue::Int(v.into())),
            "default_shipping" => self
                .default_shipping
                .map_or(FieldValue::Null, |v| FieldValue::Int(v.into())),
            "created_at" => FieldValue::Date(self.created_at),
            "updated_at" => FieldValue::Date(self.updated_at),
            "created_in" => FieldValue::from(self.created_in.as_str()),
            "dob" => self.dob.map_or(FieldValue::Null, |d| {
                FieldValue::Date(i64::from(d) * 86_400)
            }),
            "email" => FieldValue::from(self.email.as_str()),
            "firstname" => FieldValue::from(self.firstname.as_str()),
            "lastname" => FieldValue::from(self.lastname.as_str()),
            "middlename" => FieldValue::from(self.middlename.as_deref()),
            "prefix" => FieldValue::from(self.prefix.as_deref()),
            "suffix" => FieldValue::from(self.suffix.as_deref()),
            "gender" => self
                .gender
                .map_or(FieldValue::Null, |g| FieldValue::Int(g.into())),
            "store_id" => FieldValue::Int(self.store_id.into()),
            "taxvat" => FieldValue::from(self.taxvat.as_deref()),
            "website_id" => FieldValue::Int(self.website_id.into()),
            "confirmation" => FieldValue::Null,
            "disable_auto_group_change" => FieldValue::Int(self.disable_auto_group_change.into()),
            _ => return None,
        })
    }
}
