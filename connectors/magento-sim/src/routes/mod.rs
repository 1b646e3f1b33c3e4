//! The `/rest` front controller: store-code path processing, route matching (literal segments
//! before parameters, only the routes declared for the method), the ACL check, and dispatch.

mod categories;
mod customers;
pub(crate) mod input;
mod inventory;
mod invoices;
mod orders;
mod products;
mod shipments;
mod store;

use crate::config::ApiVersion;
use crate::data::stores::{STORE_VIEWS, StoreView, store_by_code};
use crate::errors::{ApiError, ApiResult};
use crate::query::{QNode, parse_query, percent_decode};
use crate::state::Inner;
use serde_json::Value;

/// Every route the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Route {
    AdminToken,
    Websites,
    StoreGroups,
    StoreViews,
    StoreConfigs,
    CustomerGroupSearch,
    CustomerGroupGet,
    CustomerSearch,
    CustomerGet,
    CustomerCreate,
    CustomerUpdate,
    CustomerDelete,
    AddressGet,
    CategoryTree,
    CategoryList,
    CategoryGet,
    CategoryProducts,
    ProductSearch,
    ProductGet,
    ProductCreate,
    ProductUpdate,
    ProductDelete,
    ConfigurableChildren,
    StockItemGet,
    StockItemUpdate,
    SourceItemSearch,
    SourceItemSave,
    SourceList,
    OrderSearch,
    OrderGet,
    OrderItemSearch,
    OrderItemGet,
    OrderCommentAdd,
    OrderCommentList,
    OrderStatus,
    OrderHold,
    OrderUnhold,
    OrderCancel,
    Invoice,
    InvoiceSearch,
    InvoiceGet,
    Ship,
    ShipmentSearch,
    ShipmentGet,
    TrackAdd,
    TrackDelete,
}

impl Route {
    /// The counter key: method and route template as in the schema.
    pub fn key(self) -> &'static str {
        use Route::*;
        match self {
            AdminToken => "POST /V1/integration/admin/token",
            Websites => "GET /V1/store/websites",
            StoreGroups => "GET /V1/store/storeGroups",
            StoreViews => "GET /V1/store/storeViews",
            StoreConfigs => "GET /V1/store/storeConfigs",
            CustomerGroupSearch => "GET /V1/customerGroups/search",
            CustomerGroupGet => "GET /V1/customerGroups/{id}",
            CustomerSearch => "GET /V1/customers/search",
            CustomerGet => "GET /V1/customers/{customerId}",
            CustomerCreate => "POST /V1/customers",
            CustomerUpdate => "PUT /V1/customers/{customerId}",
            CustomerDelete => "DELETE /V1/customers/{customerId}",
            AddressGet => "GET /V1/customers/addresses/{addressId}",
            CategoryTree => "GET /V1/categories",
            CategoryList => "GET /V1/categories/list",
            CategoryGet => "GET /V1/categories/{categoryId}",
            CategoryProducts => "GET /V1/categories/{categoryId}/products",
            ProductSearch => "GET /V1/products",
            ProductGet => "GET /V1/products/{sku}",
            ProductCreate => "POST /V1/products",
            ProductUpdate => "PUT /V1/products/{sku}",
            ProductDelete => "DELETE /V1/products/{sku}",
            ConfigurableChildren => "GET /V1/configurable-products/{sku}/children",
            StockItemGet => "GET /V1/stockItems/{productSku}",
            StockItemUpdate => "PUT /V1/products/{productSku}/stockItems/{itemId}",
            SourceItemSearch => "GET /V1/inventory/source-items",
            SourceItemSave => "POST /V1/inventory/source-items",
            SourceList => "GET /V1/inventory/sources",
            OrderSearch => "GET /V1/orders",
            OrderGet => "GET /V1/orders/{id}",
            OrderItemSearch => "GET /V1/orders/items",
            OrderItemGet => "GET /V1/orders/items/{id}",
            OrderCommentAdd => "POST /V1/orders/{id}/comments",
            OrderCommentList => "GET /V1/orders/{id}/comments",
            OrderStatus => "GET /V1/orders/{id}/statuses",
            OrderHold => "POST /V1/orders/{id}/hold",
            OrderUnhold => "POST /V1/orders/{id}/unhold",
            OrderCancel => "POST /V1/orders/{id}/cancel",
            Invoice => "POST /V1/order/{orderId}/invoice",
            InvoiceSearch => "GET /V1/invoices",
            InvoiceGet => "GET /V1/invoices/{id}",
            Ship => "POST /V1/order/{orderId}/ship",
            ShipmentSearch => "GET /V1/shipments",
            ShipmentGet => "GET /V1/shipment/{id}",
            TrackAdd => "POST /V1/shipment/track",
            TrackDelete => "DELETE /V1/shipment/track/{id}",
        }
    }

    /// The ACL resource named in the 401 answer.
    pub fn resource(self) -> &'static str {
        use Route::*;
        match self {
            AdminToken | CustomerCreate => "anonymous",
            Websites | StoreGroups | StoreViews | StoreConfigs => "Magento_Backend::store",
            CustomerGroupSearch | CustomerGroupGet => "Magento_Customer::group",
            CustomerSearch | CustomerGet | AddressGet => "Magento_Customer::customer",
            CustomerUpdate | CustomerDelete => "Magento_Customer::manage",
            CategoryTree | CategoryList | CategoryGet | CategoryProducts => {
                "Magento_Catalog::categories"
            }
            ProductSearch | ProductGet | ProductCreate | ProductUpdate | ProductDelete
            | ConfigurableChildren => "Magento_Catalog::products",
            StockItemGet | StockItemUpdate => "Magento_CatalogInventory::cataloginventory",
            SourceItemSearch | SourceList => "Magento_InventoryApi::source",
            SourceItemSave => "Magento_InventoryApi::stock_source_item_assign",
            OrderSearch | OrderGet | OrderItemSearch | OrderItemGet | OrderCommentList
            | OrderStatus => "Magento_Sales::actions_view",
            OrderCommentAdd => "Magento_Sales::comment",
            OrderHold => "Magento_Sales::hold",
            OrderUnhold => "Magento_Sales::unhold",
            OrderCancel => "Magento_Sales::cancel",
            Invoice => "Magento_Sales::invoice",
            InvoiceSearch | InvoiceGet => "Magento_Sales::sales_invoice",
            Ship | TrackAdd | TrackDelete => "Magento_Sales::ship",
            ShipmentSearch | ShipmentGet => "Magento_Sales::shipment",
        }
    }

    fn anonymous(self) -> bool {
        self.resource() == "anonymous"
    }
}

/// Matches `/V1/...` segments for a method. Literal segments are tried before parameters.
pub fn match_route(method: &str, segs: &[&str], version: ApiVersion) -> Option<Route> {
    use Route::*;
    let r = match (method, segs) {
        ("POST", ["integration", "admin", "token"]) => AdminToken,
        ("GET", ["store", "websites"]) => Websites,
        ("GET", ["store", "storeGroups"]) => StoreGroups,
        ("GET", ["store", "storeViews"]) => StoreViews,
        ("GET", ["store", "storeConfigs"]) => StoreConfigs,
        ("GET", ["customerGroups", "search"]) => CustomerGroupSearch,
        ("GET", ["customerGroups", _]) => CustomerGroupGet,
        ("GET", ["customers", "search"]) => CustomerSearch,
        ("GET", ["customers", "addresses", _]) => AddressGet,
        ("GET", ["customers", _]) => CustomerGet,
        ("POST", ["customers"]) => CustomerCreate,
        ("PUT", ["customers", _]) => CustomerUpdate,
        ("DELETE", ["customers", _]) => CustomerDelete,
        ("GET", ["categories"]) => CategoryTree,
        ("GET", ["categories", "list"]) => CategoryList,
        ("GET", ["categories", _]) => CategoryGet,
        ("GET", ["categories", _, "products"]) => CategoryProducts,
        ("GET", ["products"]) => ProductSearch,
        ("POST", ["products"]) => ProductCreate,
        ("GET", ["products", _]) => ProductGet,
        ("PUT", ["products", _]) => ProductUpdate,
        ("DELETE", ["products", _]) => ProductDelete,
        ("PUT", ["products", _, "stockItems", _]) => StockItemUpdate,
        ("GET", ["configurable-products", _, "children"]) => ConfigurableChildren,
        ("GET", ["stockItems", _]) => StockItemGet,
        ("GET", ["inventory", "source-items"]) if version == ApiVersion::V2_4 => SourceItemSearch,
        ("POST", ["inventory", "source-items"]) if version == ApiVersion::V2_4 => SourceItemSave,
        ("GET", ["inventory", "sources"]) if version == ApiVersion::V2_4 => SourceList,
        ("GET", ["orders"]) => OrderSearch,
        ("GET", ["orders", "items"]) => OrderItemSearch,
        ("GET", ["orders", "items", _]) => OrderItemGet,
        ("GET", ["orders", _]) => OrderGet,
        ("POST", ["orders", _, "comments"]) => OrderCommentAdd,
        ("GET", ["orders", _, "comments"]) => OrderCommentList,
        ("GET", ["orders", _, "statuses"]) => OrderStatus,
        ("POST", ["orders", _, "hold"]) => OrderHold,
        ("POST", ["orders", _, "unhold"]) => OrderUnhold,
        ("POST", ["orders", _, "cancel"]) => OrderCancel,
        ("POST", ["order", _, "invoice"]) => Invoice,
        ("GET", ["invoices"]) => InvoiceSearch,
        ("GET", ["invoices", _]) => InvoiceGet,
        ("POST", ["order", _, "ship"]) => Ship,
        ("GET", ["shipments"]) => ShipmentSearch,
        ("GET", ["shipment", _]) => ShipmentGet,
        ("POST", ["shipment", "track"]) => TrackAdd,
        ("DELETE", ["shipment", "track", _]) => TrackDelete,
        _ => return None,
    };
    Some(r)
}

/// What a handler sees of a request.
pub(crate) struct Ctx<'a> {
    pub state: &'a Inner,
    /// The current store (`all` maps to the admin store, id 0).
    pub store: &'static StoreView,
    /// Decoded path segments after `V1`.
    pub segs: Vec<String>,
    /// The parsed query string.
    pub query: QNode,
    /// The JSON body (POST/PUT).
    pub body: Value,
}

impl Ctx<'_> {
    /// The version being imitated.
    pub fn version(&self) -> ApiVersion {
        self.state.config.version
    }

    /// The store id whose catalog values apply (admin maps to the default view).
    pub fn catalog_store(&self) -> u16 {
        if self.store.id == 0 { 1 } else { self.store.id }
    }

    /// Path segment `i` (after `V1`).
    pub fn seg(&self, i: usize) -> &str {
        self.segs.get(i).map_or("", String::as_str)
    }
}

/// The outcome of resolving a `/rest` path.
pub(crate) enum Resolved<'p> {
    /// A route matched.
    Route {
        route: Route,
        store: &'static StoreView,
        segs: Vec<&'p str>,
    },
    /// Nothing matched: 404.
    NoRoute,
}

/// Resolves `/rest[/<store>]/V1/...` (also under `/index.php`).
pub(crate) fn resolve<'p>(method: &str, path: &'p str, version: ApiVersion) -> Resolved<'p> {
    let rest = path
        .strip_prefix("/index.php")
        .unwrap_or(path)
        .strip_prefix("/rest/");
    let Some(rest) = rest else {
        return Resolved::NoRoute;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let mut parts = rest.split('/');
    let first = parts.next().unwrap_or("");
    let (store, v1) = if first == "V1" {
        (&STORE_VIEWS[1], true)
    } else if first == "all" {
        (&STORE_VIEWS[0], parts.next() == Some("V1"))
    } else {
        match store_by_code(first).filter(|s| s.id != 0) {
            Some(s) => (s, parts.next() == Some("V1")),
            None => return Resolved::NoRoute,
        }
    };
    if !v1 {
        return Resolved::NoRoute;
    }
    let segs: Vec<&str> = parts.collect();
    match match_route(method, &segs, version) {
        Some(route) => Resolved::Route { route, store, segs },
        None => Resolved::NoRoute,
    }
}

/// Checks the bearer token of a request for `route`.
pub(crate) fn authorize(state: &Inner, route: Route, authorization: Option<&str>) -> ApiResult<()> {
    if route.anonymous() {
        return Ok(());
    }
    let token = authorization
        .and_then(|h| {
            let h = h.trim();
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    match token {
        Some(t) if state.tokens.is_valid(t) => Ok(()),
        _ => Err(ApiError::not_authorized(route.resource())),
    }
}

/// Parses the body of a POST/PUT the way Magento's REST request does.
pub(crate) fn parse_body(content_type: Option<&str>, body: &[u8]) -> ApiResult<Value> {
    let Some(ct) = content_type.map(str::trim).filter(|c| !c.is_empty()) else {
        return Err(ApiError::new(400, "Content-Type header is empty."));
    };
    let mut parts = ct.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    for p in parts {
        if let Some((k, v)) = p.split_once('=')
            && k.trim().eq_ignore_ascii_case("charset")
            && !v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err(ApiError::new(400, "UTF-8 is the only supported charset."));
        }
    }
    if mime != "application/json" {
        return Err(ApiError::new(400, "Content-Type header is invalid."));
    }
    serde_json::from_slice(body).map_err(|_| ApiError::new(400, "Decoding error."))
}

/// Serves one matched route.
pub(crate) fn dispatch(route: Route, ctx: &Ctx<'_>) -> ApiResult<String> {
    use Route::*;
    match route {
        AdminToken => store::admin_token(ctx),
        Websites => store::websites(ctx),
        StoreGroups => store::groups(ctx),
        StoreViews => store::views(ctx),
        StoreConfigs => store::configs(ctx),
        CustomerGroupSearch => store::customer_group_search(ctx),
        CustomerGroupGet => store::customer_group_get(ctx),
        CustomerSearch => customers::search(ctx),
        CustomerGet => customers::get(ctx),
        CustomerCreate => customers::create(ctx),
        CustomerUpdate => customers::update(ctx),
        CustomerDelete => customers::delete(ctx),
        AddressGet => customers::address(ctx),
        CategoryTree => categories::tree(ctx),
        CategoryList => categories::list(ctx),
        CategoryGet => categories::get(ctx),
        CategoryProducts => categories::products(ctx),
        ProductSearch => products::search(ctx),
        ProductGet => products::get(ctx),
        ProductCreate => products::create(ctx),
        ProductUpdate => products::update(ctx),
        ProductDelete => products::delete(ctx),
        ConfigurableChildren => products::children(ctx),
        StockItemGet => inventory::stock_get(ctx),
        StockItemUpdate => inventory::stock_update(ctx),
        SourceItemSearch => inventory::source_search(ctx),
        SourceItemSave => inventory::source_save(ctx),
        SourceList => inventory::sources(ctx),
        OrderSearch => orders::search(ctx),
        OrderGet => orders::get(ctx),
        OrderItemSearch => orders::item_search(ctx),
        OrderItemGet => orders::item_get(ctx),
        OrderCommentAdd => orders::comment_add(ctx),
        OrderCommentList => orders::comment_list(ctx),
        OrderStatus => orders::status(ctx),
        OrderHold => orders::hold(ctx),
        OrderUnhold => orders::unhold(ctx),
        OrderCancel => orders::cancel(ctx),
        Invoice => invoices::create(ctx),
        InvoiceSearch => invoices::search(ctx),
        InvoiceGet => invoices::get(ctx),
        Ship => shipments::create(ctx),
        ShipmentSearch => shipments::search(ctx),
        ShipmentGet => shipments::get(ctx),
        TrackAdd => shipments::track_add(ctx),
        TrackDelete => shipments::track_delete(ctx),
    }
}

/// Builds the handler context from the raw parts.
pub(crate) fn make_ctx<'a>(
    state: &'a Inner,
    store: &'static StoreView,
    segs: &[&str],
    query: Option<&str>,
    body: Value,
) -> Ctx<'a> {
    Ctx {
        state,
        store,
        segs: segs.iter().map(|s| percent_decode(s, false)).collect(),
        query: query.map_or(QNode::Map(Vec::new()), parse_query),
        body,
    }
}

/// Sets a product's default-stock quantity and in-stock flag, keeping the `default` source item
/// in step (used by the admin edit endpoint).
pub(crate) fn set_stock_pub(
    p: &mut crate::data::catalog::Product,
    qty: Option<f64>,
    in_stock: Option<bool>,
) {
    products::set_stock(p, qty, in_stock);
}
