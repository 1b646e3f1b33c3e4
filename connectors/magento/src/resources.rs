//! The REST routes of each Magento model.

/// How one Magento model is reached over REST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// The Synckit model name (registry and binding model).
    pub model: &'static str,
    /// The search route answering `{items, total_count, search_criteria}`, or a list route
    /// answering a plain array when `paged` is false.
    pub search: &'static str,
    /// Whether `search` takes `searchCriteria` and pages.
    pub paged: bool,
    /// The route reading one record, with `{id}`.
    pub read: &'static str,
    /// The route creating a record (POST), if any.
    pub create: Option<&'static str>,
    /// The route updating a record (PUT, with `{id}`), if any.
    pub update: Option<&'static str>,
    /// The route deleting a record (DELETE, with `{id}`), if any.
    pub delete: Option<&'static str>,
    /// The key wrapping the record in request bodies (`{"customer": {...}}`).
    pub envelope: &'static str,
    /// The field holding the record's id (`id`, `entity_id`, `sku`…).
    pub id_field: &'static str,
}

/// Websites (a plain list, with the admin website 0).
pub const WEBSITES: Resource = Resource {
    model: "magento.website",
    search: "/store/websites",
    paged: false,
    read: "/store/websites",
    create: None,
    update: None,
    delete: None,
    envelope: "website",
    id_field: "id",
};

/// Store groups ("stores" in the admin).
pub const STORE_GROUPS: Resource = Resource {
    model: "magento.store",
    search: "/store/storeGroups",
    paged: false,
    read: "/store/storeGroups",
    create: None,
    update: None,
    delete: None,
    envelope: "group",
    id_field: "id",
};

/// Store views.
pub const STORE_VIEWS: Resource = Resource {
    model: "magento.storeview",
    search: "/store/storeViews",
    paged: false,
    read: "/store/storeViews",
    create: None,
    update: None,
    delete: None,
    envelope: "store",
    id_field: "id",
};

/// Customer groups.
pub const CUSTOMER_GROUPS: Resource = Resource {
    model: "magento.customer.group",
    search: "/customerGroups/search",
    paged: true,
    read: "/customerGroups/{id}",
    create: None,
    update: None,
    delete: None,
    envelope: "group",
    id_field: "id",
};

/// Customers, with their addresses.
pub const CUSTOMERS: Resource = Resource {
    model: "magento.customer",
    search: "/customers/search",
    paged: true,
    read: "/customers/{id}",
    create: Some("/customers"),
    update: Some("/customers/{id}"),
    delete: Some("/customers/{id}"),
    envelope: "customer",
    id_field: "id",
};

/// Categories (the flat list; the tree is `/categories`).
pub const CATEGORIES: Resource = Resource {
    model: "magento.category",
    search: "/categories/list",
    paged: true,
    read: "/categories/{id}",
    create: None,
    update: None,
    delete: None,
    envelope: "category",
    id_field: "id",
};

/// Products, keyed by SKU.
pub const PRODUCTS: Resource = Resource {
    model: "magento.product",
    search: "/products",
    paged: true,
    read: "/products/{id}",
    create: Some("/products"),
    update: Some("/products/{id}"),
    delete: Some("/products/{id}"),
    envelope: "product",
    id_field: "sku",
};

/// Sale orders, keyed by `entity_id`.
pub const ORDERS: Resource = Resource {
    model: "magento.sale.order",
    search: "/orders",
    paged: true,
    read: "/orders/{id}",
    create: None,
    update: None,
    delete: None,
    envelope: "entity",
    id_field: "entity_id",
};

/// Every resource, for registration.
pub const ALL: &[Resource] = &[
    WEBSITES,
    STORE_GROUPS,
    STORE_VIEWS,
    CUSTOMER_GROUPS,
    CUSTOMERS,
    CATEGORIES,
    PRODUCTS,
    ORDERS,
];
