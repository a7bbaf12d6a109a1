-- Undo 20240305090000_add_orders_status_index.sql
drop index if exists public.orders_status_created_at_idx;
