// The parts of Halo's JSON the client reads (field names as Halo spells them).

export interface HaloClientJson {
  id: number;
  name?: string | null;
  inactive?: boolean | null;
  website?: string | null;
  domain?: string | null;
}

export interface HaloAzureTenantJson {
  client_id?: number | null;
  azure_tenant_id?: string | null;
}

export interface HaloItemJson {
  id: number;
  name?: string | null;
  internalreference?: string | null;
  supplier_part_code?: string | null;
}

export interface HaloLicenceJson {
  id: number;
  count?: number | null;
}

export interface HaloLicenceLinkJson {
  licence_id?: number | null;
  qty_free?: number | null;
  minimum_qty?: number | null;
}

export interface HaloLineJson {
  id: number;
  ihid?: number | null;
  _itemid?: number | null;
  item_shortdescription?: string | null;
  qty_order?: number | null;
  enddate?: string | null;
  isinactive?: boolean | null;
  quantity_licences?: HaloLicenceLinkJson[] | null;
}

export interface HaloInvoiceJson {
  id: number;
  client_id?: number | null;
  reference?: string | null;
  lines?: HaloLineJson[] | null;
}
