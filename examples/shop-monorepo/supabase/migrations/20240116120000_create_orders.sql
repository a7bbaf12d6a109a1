-- Orders placed by users, and their line items.

create type public.order_status as enum ('pending', 'paid', 'shipped', 'delivered', 'cancelled');

create table public.orders (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  status public.order_status not null default 'pending',
  total_cents integer not null default 0 check (total_cents >= 0),
  currency text not null default 'USD' check (char_length(currency) = 3),
  note text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index orders_user_id_idx on public.orders (user_id);

create table public.order_items (
  id uuid primary key default gen_random_uuid(),
  order_id uuid not null references public.orders (id) on delete cascade,
  product_id uuid not null references public.products (id) on delete restrict,
  quantity integer not null check (quantity > 0),
  unit_price_cents integer not null check (unit_price_cents >= 0),
  created_at timestamptz not null default now()
);

create index order_items_order_id_idx on public.order_items (order_id);
create index order_items_product_id_idx on public.order_items (product_id);

create trigger orders_set_updated_at
  before update on public.orders
  for each row execute function public.handle_updated_at();

alter table public.orders enable row level security;
alter table public.order_items enable row level security;

create policy "Users can view their own orders"
  on public.orders for select
  to authenticated
  using (
    user_id in (select u.id from public.users u where u.auth_user_id = (select auth.uid()))
  );

create policy "Users can view items of their own orders"
  on public.order_items for select
  to authenticated
  using (
    exists (
      select 1
      from public.orders o
      join public.users u on u.id = o.user_id
      where o.id = order_items.order_id
        and u.auth_user_id = (select auth.uid())
    )
  );

-- Order status changes are pushed to the web app.
alter publication supabase_realtime add table public.orders;
