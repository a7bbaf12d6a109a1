-- Undo 20240116120000_create_orders.sql
alter publication supabase_realtime drop table public.orders;
drop policy if exists "Users can view items of their own orders" on public.order_items;
drop policy if exists "Users can view their own orders" on public.orders;
drop table if exists public.order_items;
drop table if exists public.orders;
drop type if exists public.order_status;
