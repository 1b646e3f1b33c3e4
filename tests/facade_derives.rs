//! The derives work for a user who depends on the `synckit` facade alone.

use serde::{Deserialize, Serialize};
use synckit::mapper::DerivedMapper;
use synckit::prelude::*;
use synckit::{Binding, Mapper};

struct RemoteGroup {
    id: i64,
    code: String,
}

#[derive(Debug, Clone, PartialEq, Binding)]
#[binding(kind = "crm", model = "crm.group", local = "group", external_id = i64)]
struct GroupBinding;

#[derive(Debug, PartialEq, Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteGroup, id = id)]
struct GroupValues {
    #[map(from = code)]
    name: String,
}

#[tokio::test]
async fn a_derived_mapper_and_binding_through_the_facade() {
    let db = synckit::testing::sqlite().await.unwrap();
    let mut registry = ComponentRegistry::new();
    registry.add_kind(BackendKind::root("crm"));
    <GroupBinding as synckit::binding_model::BindingModel>::register(&mut registry);
    let backend = db
        .storage
        .backends()
        .create(NewBackend::new("crm", "c"))
        .await
        .unwrap();
    let app = App::new(registry, db.storage.clone()).await.unwrap();
    let ctx = app.context(backend, "crm.group");
    let mapper = DerivedMapper::<GroupValues>::new();
    let remote = RemoteGroup {
        id: 3,
        code: "VIP".into(),
    };
    let out = mapper
        .map(&remote, &MapOptions::for_create(), &ctx)
        .await
        .unwrap();
    assert_eq!(out, MapOutput::Full(GroupValues { name: "VIP".into() }));
    assert!(ctx.component::<dyn Binder>("binder").is_ok());
    db.cleanup().await;
}
