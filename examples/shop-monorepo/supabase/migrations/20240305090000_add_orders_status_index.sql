-- The back office lists orders by status, newest first.

create index orders_status_created_at_idx
  on public.orders (status, created_at desc);
