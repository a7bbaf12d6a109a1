-- Undo 20240115094500_create_products.sql
drop policy if exists "Active products are visible to everyone" on public.products;
drop trigger if exists products_set_updated_at on public.products;
drop index if exists public.products_is_active_idx;
drop table if exists public.products;
