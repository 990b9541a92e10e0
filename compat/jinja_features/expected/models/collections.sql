-- columns: id, m_revenue, m_cost, m_margin, m_total
-- types: {"amount": "numeric(12,2)", "created_at": "timestamp", "id": "integer", "is_active": "boolean", "label": "text"}
-- kinds: {"numbers": 3, "words": 2, "seen": ["1", "a", "2.5", "b", "3"]}
-- last metric: margin
-- has amount: True, has scratch: False

select
    'amount'::text as amount_label,
    'created_at'::text as created_at_label,
    'id'::text as id_label,
    'is_active'::text as is_active_label,
    'label'::text as label_label