-- erased: the customer was erased (customer.erased). Its texts in these
-- rows (customer name and external_ref, offer message and rejection
-- reason) were overwritten with '' in the same transaction; the flag makes
-- readers show them as null with "erased": true.
ALTER TABLE customers ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
ALTER TABLE offers ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
