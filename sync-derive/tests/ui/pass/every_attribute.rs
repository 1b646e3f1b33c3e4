use serde::{Deserialize, Serialize};
use sync_core::prelude::*;
use sync_derive::{Binding, Mapper};

#[derive(Binding)]
#[binding(kind = "magento", model = "magento.customer.group", local = "customer.group", external_id = u32)]
struct GroupBinding {
    code: String,
}

struct Remote {
    r#type: String,
    name: Option<String>,
    group_id: u32,
    amount: String,
    lines: Vec<RemoteLine>,
}

struct RemoteLine {
    qty: i64,
}

#[derive(Serialize, Deserialize, Mapper)]
#[mapper(source = Remote, finalize = Self::finalize)]
#[mapper(method(with = Self::both, fills(a, b), changed_by(name), async))]
struct Values {
    #[map(from = r#type)]
    r#type: String,
    #[map(from = "name", empty_to_none)]
    name: Option<String>,
    #[map(from = name, default)]
    name_or_empty: String,
    #[map(from = group_id, external_to_local = GroupBinding, only_create)]
    group: LocalId,
    #[map(from = amount, parse, changed_by(name))]
    amount: f64,
    a: String,
    b: i32,
    #[map(items = lines, skip = Self::skip)]
    lines: Vec<Line>,
    #[map(default = 3)]
    constant: u8,
}

impl Values {
    async fn both(_: &MapRecord<'_, Remote>, _: &WorkContext) -> SyncResult<(String, i32)> {
        Ok((String::new(), 1))
    }

    fn skip(line: &MapRecord<'_, RemoteLine, Remote>) -> bool {
        line.qty == 0
    }

    fn finalize(
        _: &MapRecord<'_, Remote>,
        _: &mut MapOutput<Self>,
        _: &WorkContext,
    ) -> SyncResult<()> {
        Ok(())
    }
}

/// No parent declared: usable under any parent.
#[derive(Serialize, Deserialize, Mapper)]
#[mapper(source = RemoteLine)]
struct Line {
    #[map(from = qty, convert)]
    qty: i32,
}

fn assert_mapper<M: Mapper>(_: M) {}

fn main() {
    assert_mapper(DerivedMapper::<Values>::new());
    assert_mapper(DerivedMapper::<Line>::new());
    let mut registry = ComponentRegistry::new();
    GroupBinding::register(&mut registry);
    let _: &str = <GroupBinding as BindingModel>::MODEL;
}
